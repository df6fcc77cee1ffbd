/**
 * A tolerant RFC 822 / MIME reader, enough to build Gmail's `payload` tree: headers in original
 * order (encoded words decoded), multipart nesting, transfer-decoding of leaves, attachment names.
 * It never throws on malformed input: a broken part becomes a leaf with whatever bytes it has.
 */

export interface Header {
  name: string;
  value: string;
}

export interface MimeNode {
  readonly headers: Header[];
  readonly mimeType: string;
  readonly params: Record<string, string>;
  readonly filename: string;
  readonly isAttachment: boolean;
  /** Decoded body bytes of a leaf (decoded on first read); empty for containers. */
  readonly body: Buffer;
  readonly parts: MimeNode[];
}

const CRLF2 = Buffer.from('\r\n\r\n');
const LF2 = Buffer.from('\n\n');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Bytes to text: UTF-8 when valid, else Latin-1 (never throws). */
export function bytesToText(bytes: Buffer, charset?: string): string {
  if (charset) {
    const label = charset.trim().toLowerCase();
    if (label !== 'utf-8' && label !== 'utf8' && label !== 'us-ascii' && label !== 'ascii') {
      try {
        return new TextDecoder(label).decode(bytes);
      } catch {
        // unknown charset label: fall through to the UTF-8/Latin-1 guess
      }
    }
  }
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Splits a message (or part) into its header block and body. */
export function splitHeaderBody(raw: Buffer): { head: Buffer; body: Buffer } {
  const crlf = raw.indexOf(CRLF2);
  const lf = raw.indexOf(LF2);
  if (crlf < 0 && lf < 0) {
    // No blank line: all headers if the first line looks like one, else all body.
    return /^[!-9;-~]+:/.test(raw.subarray(0, 200).toString('latin1')) ? { head: raw, body: Buffer.alloc(0) } : { head: Buffer.alloc(0), body: raw };
  }
  if (lf >= 0 && (crlf < 0 || lf < crlf)) return { head: raw.subarray(0, lf), body: raw.subarray(lf + 2) };
  return { head: raw.subarray(0, crlf), body: raw.subarray(crlf + 4) };
}

/** Unfolded headers with raw (undecoded) values, in order. A leading mbox "From " line is skipped. */
export function parseHeaderBlock(head: Buffer): Header[] {
  const text = bytesToText(head);
  const lines = text.split(/\r?\n/);
  const headers: Header[] = [];
  let start = 0;
  if (lines[0]?.startsWith('From ')) start = 1;
  for (let i = start; i < lines.length; i++) {
    const line = lines[i] as string;
    if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length > 0) {
      const last = headers[headers.length - 1] as Header;
      last.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g;

/** Decodes RFC 2047 encoded words; whitespace between adjacent encoded words is dropped. */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  const joined = value.replace(/(=\?[^?\s]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?)/g, '$1');
  return joined.replace(ENCODED_WORD, (_match, charset: string, encoding: string, text: string) => {
    const cs = charset.split('*')[0] as string;
    let bytes: Buffer;
    if (encoding.toUpperCase() === 'B') {
      bytes = Buffer.from(text, 'base64');
    } else {
      bytes = decodeQuotedPrintable(Buffer.from(text.replace(/_/g, ' '), 'latin1'));
    }
    return bytesToText(bytes, cs);
  });
}

export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as number;
    if (c !== 0x3d) {
      out[o++] = c;
      continue;
    }
    const a = input[i + 1];
    const b = input[i + 2];
    if (a === 0x0d && b === 0x0a) {
      i += 2;
      continue;
    }
    if (a === 0x0a) {
      i += 1;
      continue;
    }
    const hex = a !== undefined && b !== undefined ? String.fromCharCode(a, b) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out[o++] = parseInt(hex, 16);
      i += 2;
    } else {
      out[o++] = c;
    }
  }
  return out.subarray(0, o);
}

/** `type/subtype; a=b; c="d"` → mime type (lowercase) and parameters, RFC 2231 continuations joined. */
export function parseParams(value: string): { value: string; params: Record<string, string> } {
  const pieces = splitParams(value);
  const first = (pieces.shift() ?? '').trim().toLowerCase();
  const params: Record<string, string> = {};
  const continued: Record<string, Array<{ n: number; text: string; encoded: boolean }>> = {};
  for (const piece of pieces) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    let key = piece.slice(0, eq).trim().toLowerCase();
    let text = piece.slice(eq + 1).trim();
    if (text.startsWith('"')) text = text.slice(1, text.endsWith('"') && text.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    const m = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (m) {
      key = m[1] as string;
      (continued[key] ??= []).push({ n: m[2] === undefined ? 0 : Number(m[2]), text, encoded: m[3] === '*' || (m[2] === undefined && piece.slice(0, eq).trim().endsWith('*')) });
      continue;
    }
    params[key] = text;
  }
  for (const [key, chunks] of Object.entries(continued)) {
    chunks.sort((x, y) => x.n - y.n);
    let charset = 'utf-8';
    const bytes: Buffer[] = [];
    chunks.forEach((chunk, index) => {
      let text = chunk.text;
      if (chunk.encoded) {
        if (index === 0) {
          const parts = text.split("'");
          if (parts.length >= 3) {
            charset = parts[0] || 'utf-8';
            text = parts.slice(2).join("'");
          }
        }
        bytes.push(Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1'));
      } else {
        bytes.push(Buffer.from(text, 'latin1'));
      }
    });
    params[key] = bytesToText(Buffer.concat(bytes), charset);
  }
  return { value: first, params };
}

function splitParams(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '\\' && quoted) {
      current += ch + (value[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  out.push(current);
  return out;
}

export function headerValue(headers: Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const h of headers) if (h.name.toLowerCase() === lower) return h.value;
  return undefined;
}

/** Parses a whole message into a MIME tree. `depth` bounds nesting against hostile input. */
export function parseMime(raw: Buffer, depth = 0, defaultType = 'text/plain'): MimeNode {
  const { head, body } = splitHeaderBody(raw);
  const rawHeaders = parseHeaderBlock(head);
  const headers = rawHeaders.map((h) => ({ name: h.name, value: decodeEncodedWords(h.value) }));
  const ct = parseParams(headerValue(rawHeaders, 'content-type') ?? defaultType);
  const mimeType = /^[\w.+-]+\/[\w.+-]+$/.test(ct.value) ? ct.value : defaultType;
  const disposition = parseParams(headerValue(rawHeaders, 'content-disposition') ?? '');
  const filename = decodeEncodedWords(disposition.params.filename ?? ct.params.name ?? '');
  const isAttachment = Boolean(filename) || disposition.value === 'attachment';
  if (mimeType.startsWith('multipart/') && ct.params.boundary && depth < 20) {
    const childDefault = mimeType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const chunks = splitMultipart(body, ct.params.boundary);
    if (chunks) {
      const parts = chunks.map((chunk) => parseMime(chunk, depth + 1, childDefault));
      return new Part(headers, mimeType, ct.params, filename, false, EMPTY, '', parts);
    }
  }
  const encoding = (headerValue(rawHeaders, 'content-transfer-encoding') ?? '').trim().toLowerCase();
  return new Part(headers, mimeType, ct.params, filename, isAttachment, body, encoding, []);
}

const EMPTY = Buffer.alloc(0);

/** A parsed part whose body is transfer-decoded only when read (attachments often are not). */
class Part implements MimeNode {
  private decoded?: Buffer;

  constructor(
    readonly headers: Header[],
    readonly mimeType: string,
    readonly params: Record<string, string>,
    readonly filename: string,
    readonly isAttachment: boolean,
    private readonly encodedBody: Buffer,
    private readonly encoding: string,
    readonly parts: MimeNode[],
  ) {}

  get body(): Buffer {
    if (!this.decoded) {
      // Node's base64 decoder skips line breaks and other non-alphabet bytes by itself.
      if (this.encoding === 'base64') this.decoded = Buffer.from(this.encodedBody.toString('latin1'), 'base64');
      else if (this.encoding === 'quoted-printable') this.decoded = decodeQuotedPrintable(this.encodedBody);
      else this.decoded = this.encodedBody;
    }
    return this.decoded;
  }
}

/** The parts between boundary lines, or null when the boundary never occurs. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] | null {
  const delimiter = Buffer.from('--' + boundary, 'latin1');
  const starts: Array<{ at: number; end: number; close: boolean }> = [];
  let from = 0;
  while (from <= body.length) {
    const at = body.indexOf(delimiter, from);
    if (at < 0) break;
    const atLineStart = at === 0 || body[at - 1] === 0x0a;
    const after = at + delimiter.length;
    if (!atLineStart) {
      from = after;
      continue;
    }
    const close = body[after] === 0x2d && body[after + 1] === 0x2d;
    let lineEnd = body.indexOf(0x0a, after);
    if (lineEnd < 0) lineEnd = body.length - 1;
    starts.push({ at, end: lineEnd + 1, close });
    if (close) break;
    from = lineEnd + 1;
  }
  if (starts.length === 0) return null;
  const parts: Buffer[] = [];
  for (let i = 0; i < starts.length; i++) {
    const current = starts[i] as { at: number; end: number; close: boolean };
    if (current.close) break;
    const next = starts[i + 1];
    let stop = next ? next.at : body.length;
    // The line break before a delimiter belongs to the delimiter.
    if (next) {
      if (body[stop - 1] === 0x0a) stop--;
      if (body[stop - 1] === 0x0d) stop--;
    }
    parts.push(body.subarray(Math.min(current.end, stop), Math.max(stop, current.end)));
  }
  return parts;
}

/** Plain text of the first text/plain leaf (else de-tagged text/html), for snippets and search. */
export function extractText(node: MimeNode): string {
  const plain = findLeaf(node, (n) => n.mimeType === 'text/plain' && !n.isAttachment);
  if (plain) return bytesToText(plain.body, plain.params.charset);
  const html = findLeaf(node, (n) => n.mimeType === 'text/html' && !n.isAttachment);
  if (html) return htmlToText(bytesToText(html.body, html.params.charset));
  return '';
}

function findLeaf(node: MimeNode, test: (n: MimeNode) => boolean): MimeNode | undefined {
  if (node.parts.length === 0) return test(node) ? node : undefined;
  for (const part of node.parts) {
    const found = findLeaf(part, test);
    if (found) return found;
  }
  return undefined;
}

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

/** Gmail-like snippet: about 200 characters of body text, whitespace collapsed, HTML-escaped. */
export function makeSnippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return flat.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Walks leaves that are attachments, with Gmail-style partIds ("" root, "0", "0.1", ...). */
export function forEachPart(node: MimeNode, visit: (node: MimeNode, partId: string) => void, partId = ''): void {
  visit(node, partId);
  node.parts.forEach((child, index) => forEachPart(child, visit, partId === '' ? String(index) : `${partId}.${index}`));
}
