/**
 * Gmail batch requests as pure functions: encode up to 100 (we use at most 50) GET requests into one
 * multipart/mixed body, and decode the multipart/mixed answer into one HTTP response per part,
 * matched back by Content-ID (Google answers `response-<id>`; order is not relied on).
 * The official Node client has no batch support, hence this small codec.
 */
import { randomBytes } from 'node:crypto';

export const BATCH_LIMIT = 100;

export interface BatchPart {
  /** Our id for the part, echoed back as `response-<id>`. Must be a token (no spaces or angle brackets). */
  contentId: string;
  method: 'GET';
  /** Path and query only, e.g. `/gmail/v1/users/me/messages/abc?format=metadata`. Full URLs are not allowed. */
  path: string;
}

export interface EncodedBatch {
  boundary: string;
  contentType: string;
  body: string;
}

export function newBoundary(): string {
  return `batch_crm_mail_${randomBytes(12).toString('hex')}`;
}

export function encodeBatch(parts: readonly BatchPart[], boundary: string = newBoundary()): EncodedBatch {
  if (parts.length === 0) throw new RangeError('a batch needs at least one part');
  if (parts.length > BATCH_LIMIT) throw new RangeError(`a batch holds at most ${BATCH_LIMIT} parts (got ${parts.length})`);
  const seen = new Set<string>();
  const chunks: string[] = [];
  for (const part of parts) {
    if (!/^[\w.-]+$/.test(part.contentId)) throw new RangeError(`Content-ID ${JSON.stringify(part.contentId)} must be a simple token`);
    if (seen.has(part.contentId)) throw new RangeError(`duplicate Content-ID ${part.contentId}`);
    seen.add(part.contentId);
    if (!part.path.startsWith('/') || /[\s]/.test(part.path)) throw new RangeError(`batch part path must be a path with an encoded query: ${part.path}`);
    chunks.push(
      `--${boundary}\r\n` +
        'Content-Type: application/http\r\n' +
        `Content-ID: <${part.contentId}>\r\n` +
        '\r\n' +
        `${part.method} ${part.path} HTTP/1.1\r\n` +
        'Accept: application/json\r\n' +
        '\r\n',
    );
  }
  return { boundary, contentType: `multipart/mixed; boundary=${boundary}`, body: chunks.join('') + `--${boundary}--\r\n` };
}

export interface BatchPartResponse {
  /** The request's Content-ID (the `response-` prefix and angle brackets removed), or undefined. */
  contentId?: string;
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the part is JSON, else the text. */
  body: unknown;
}

/** Reads the boundary from a multipart Content-Type, quoted or not. */
export function boundaryOf(contentType: string): string {
  const match = contentType.match(/boundary=(?:"([^"]+)"|([^;\s]+))/i);
  if (!/^multipart\//i.test(contentType.trim()) || !match) {
    throw new BatchFormatError(`the batch answer is not multipart (Content-Type: ${contentType.slice(0, 80)})`);
  }
  return (match[1] ?? match[2])!;
}

export class BatchFormatError extends Error {}

function splitHead(text: string): { head: string; rest: string } {
  const match = text.match(/\r?\n\r?\n/);
  if (!match || match.index === undefined) return { head: text, rest: '' };
  return { head: text.slice(0, match.index), rest: text.slice(match.index + match[0].length) };
}

function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of head.split(/\r?\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && last) {
      headers[last] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers[last] = line.slice(colon + 1).trim();
  }
  return headers;
}

function stripContentId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bare = value.trim().replace(/^<|>$/g, '');
  return bare.replace(/^response-/i, '');
}

/** Decodes a multipart/mixed batch answer (CRLF or LF, quoted or bare boundary, preamble allowed). */
export function decodeBatch(contentType: string, body: string): BatchPartResponse[] {
  const boundary = boundaryOf(contentType);
  const delimiter = `--${boundary}`;
  const sections = body.split(delimiter);
  // sections[0] is the preamble; the closing delimiter leaves a section that starts with "--".
  const results: BatchPartResponse[] = [];
  let closed = false;
  for (const section of sections.slice(1)) {
    if (section.startsWith('--')) {
      closed = true;
      break;
    }
    const trimmed = section.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, '');
    const outer = splitHead(trimmed);
    const partHeaders = parseHeaders(outer.head);
    const inner = outer.rest.replace(/^(\r?\n)+/, '');
    const statusLine = inner.match(/^HTTP\/\d(?:\.\d)?\s+(\d{3})[^\r\n]*\r?\n?/);
    if (!statusLine) throw new BatchFormatError(`a batch part has no HTTP status line (Content-ID ${partHeaders['content-id'] ?? 'none'})`);
    const afterStatus = inner.slice(statusLine[0].length);
    const innerSplit = /^\r?\n/.test(afterStatus) ? { head: '', rest: afterStatus.replace(/^\r?\n/, '') } : splitHead(afterStatus);
    const headers = parseHeaders(innerSplit.head);
    const text = innerSplit.rest.replace(/\r?\n$/, '');
    let parsed: unknown = text;
    if (/json/i.test(headers['content-type'] ?? '') || /^\s*[{[]/.test(text)) {
      try {
        parsed = text.trim() === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    results.push({ contentId: stripContentId(partHeaders['content-id']), status: Number(statusLine[1]), headers, body: parsed });
  }
  if (!closed) throw new BatchFormatError('the batch answer was cut short (no closing boundary)');
  return results;
}

/**
 * Pairs each requested Content-ID with its response part. Parts without a Content-ID are paired by
 * position (the API answers in request order); a request left without an answer is reported missing.
 */
export function matchBatchResponses(requested: readonly string[], responses: readonly BatchPartResponse[]): Map<string, BatchPartResponse | undefined> {
  const matched = new Map<string, BatchPartResponse | undefined>(requested.map((id) => [id, undefined]));
  responses.forEach((response, index) => {
    const id = response.contentId !== undefined && matched.has(response.contentId) ? response.contentId : requested[index];
    if (id !== undefined && matched.get(id) === undefined) matched.set(id, response);
  });
  return matched;
}
