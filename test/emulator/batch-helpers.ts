/**
 * Batch plumbing shared by the batch suites: a multipart/mixed request built by hand (so a test
 * can vary line endings, boundary quoting and per-part auth) and a strict parser of the answer.
 */
import { expect } from 'vitest';

export interface Part {
  contentId?: string;
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
}

/** Parses a multipart/mixed batch answer the way a strict client would. */
export function parseAnswer(contentType: string, text: string): Part[] {
  expect(contentType).toMatch(/^multipart\/mixed; boundary=[^"\s;]+$/);
  const boundary = contentType.split('boundary=')[1]!;
  expect(text.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(text.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [outer, status, rest] = splitThree(chunk.replace(/^\r\n/, ''));
      const contentId = /Content-ID: <response-([^>]+)>/.exec(outer!)?.[1];
      expect(outer).toContain('Content-Type: application/http');
      const m = /^HTTP\/1\.1 (\d{3}) (.+)$/.exec(status!.split('\r\n')[0]!);
      expect(m).not.toBeNull();
      const headers: Record<string, string> = {};
      for (const line of status!.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      return { contentId, status: Number(m![1]), reason: m![2]!, headers, body: rest!.replace(/\r\n$/, '') };
    });
}

function splitThree(chunk: string): [string, string, string] {
  const a = chunk.indexOf('\r\n\r\n');
  const b = chunk.indexOf('\r\n\r\n', a + 4);
  return [chunk.slice(0, a), chunk.slice(a + 4, b), chunk.slice(b + 4)];
}

export interface BatchOptions {
  boundary?: string;
  quoted?: boolean;
  eol?: string;
  /** Give every part its own Authorization header with this token. */
  innerToken?: string;
  preamble?: boolean;
}

export function buildBatch(paths: string[], options: BatchOptions = {}): { body: string; contentType: string } {
  const boundary = options.boundary ?? 'batch_abc123';
  const eol = options.eol ?? '\r\n';
  const lines: string[] = [];
  if (options.preamble) lines.push('This is a preamble.', '');
  paths.forEach((path, i) => {
    lines.push(`--${boundary}`, 'Content-Type: application/http', `Content-ID: ${i + 1}`, '', `GET ${path} HTTP/1.1`);
    if (options.innerToken) lines.push(`Authorization: Bearer ${options.innerToken}`);
    lines.push('Accept: application/json', '0: accept-encoding,gzip', '');
  });
  lines.push(`--${boundary}--`, '');
  return { body: lines.join(eol), contentType: `multipart/mixed; boundary=${options.quoted ? `"${boundary}"` : boundary}` };
}

/** POSTs a batch; `token` null sends no outer Authorization. */
export async function sendBatch(rootUrl: string, path: string, batch: { body: string; contentType: string }, token: string | null) {
  const response = await fetch(new URL(path, rootUrl), { method: 'POST', headers: { 'Content-Type': batch.contentType, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: batch.body });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

export const getPath = (id: string, format = 'minimal') => `/gmail/v1/users/me/messages/${id}?format=${format}`;
