/**
 * multipart/mixed batch requests (gmail-api-notes §5): tolerant parsing (quoted or bare boundary,
 * CRLF or LF, preamble, junk inner headers) and a response Google's and googleapis-batcher's
 * parsers accept (unquoted boundary, parts in request order, `HTTP/1.1 <code> <reason>`).
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';

export interface BatchPart {
  contentId?: string;
  method: string;
  /** Path with query, e.g. /gmail/v1/users/me/messages/abc?format=raw */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface PartAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const MAX_BATCH_PARTS = 100;

export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/mixed/i.test(contentType.trim())) return null;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? ((m[1] ?? m[2]) as string) : null;
}

/** Splits the outer body into inner HTTP requests; throws an Error with a message on nonsense. */
export function parseBatch(body: Buffer, boundary: string): BatchPart[] {
  const text = body.toString('latin1');
  const delimiter = '--' + boundary;
  const pieces = text.split(delimiter);
  const parts: BatchPart[] = [];
  // pieces[0] is the preamble; a piece starting with "--" is the close delimiter.
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i] as string;
    if (piece.startsWith('--')) break;
    const chunk = piece.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, '');
    if (!chunk.trim()) continue;
    parts.push(parsePart(chunk));
  }
  return parts;
}

function splitBlock(text: string): { head: string; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text, rest: '' };
  return { head: text.slice(0, m.index), rest: text.slice(m.index + m[0].length) };
}

function headerMap(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function parsePart(chunk: string): BatchPart {
  const outer = splitBlock(chunk);
  const partHeaders = headerMap(outer.head);
  const inner = splitBlock(outer.rest.replace(/^(\r?\n)+/, ''));
  const lines = inner.head.split(/\r?\n/);
  const requestLine = (lines.shift() ?? '').trim();
  const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?$/.exec(requestLine);
  if (!m) throw new Error(`Failed to parse batch request, error: malformed request line ${JSON.stringify(requestLine.slice(0, 80))}`);
  const headers = headerMap(lines.join('\n'));
  let path = m[2] as string;
  if (/^https?:\/\//i.test(path)) path = new URL(path).pathname + new URL(path).search;
  let contentId = partHeaders['content-id'];
  if (contentId) contentId = contentId.replace(/^<|>$/g, '');
  return { contentId, method: m[1] as string, path, headers, body: Buffer.from(inner.rest.replace(/\r?\n$/, ''), 'latin1') };
}

export function composeBatch(answers: Array<{ contentId?: string; answer: PartAnswer }>): { boundary: string; body: string } {
  const boundary = 'batch_' + randomBytes(12).toString('base64url');
  const chunks: string[] = [];
  for (const { contentId, answer } of answers) {
    const body = answer.body;
    const lines = [`--${boundary}`, 'Content-Type: application/http'];
    if (contentId !== undefined) lines.push(`Content-ID: <response-${contentId}>`);
    lines.push('', `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Unknown'}`);
    for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`);
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
    chunks.push(lines.join('\r\n'));
  }
  return { boundary, body: chunks.join('\r\n') + `\r\n--${boundary}--\r\n` };
}
