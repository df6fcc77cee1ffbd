/**
 * A bounded reading of a header block too big for mailparser's splitter (it refuses a MIME node
 * whose header lines cost over 1 MiB, each line counting at least 64 bytes: about 16,000 lines).
 * Such a block is a message with a Cc list of thousands, or an attack; either way its From, Subject,
 * Message-ID and first recipients are what capture needs. This keeps the headers the pipeline reads,
 * cuts address lists to their first MAX_ADDRESSES and other values to MAX_VALUE_CHARS, and says
 * what it cut. Pure: bytes in, bytes and problems out.
 */

/** mailparser's limit (mailsplit MAX_HEAD_SIZE) and per-line floor (HEADER_LINE_MIN_COST). */
const SPLITTER_MAX_HEAD_BYTES = 1024 * 1024;
const SPLITTER_LINE_FLOOR = 64;
/** Below the splitter's limit with room to spare: a reduced block must never fail again. */
const SAFE_HEAD_COST = SPLITTER_MAX_HEAD_BYTES / 2;

// Bounds that keep a reduced block under the splitter's limit whatever the input: six address
// fields of at most 500 lines and 32 KiB each, fifteen other fields of at most 16 KiB.
export const MAX_ADDRESSES = 500;
const MAX_ADDRESS_CHARS = 32 * 1024;
export const MAX_VALUE_CHARS = 16 * 1024;
const MAX_AUTHENTICATION_RESULTS = 5;

const ADDRESS_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'sender']);
const KEPT_HEADERS = new Set([
  ...ADDRESS_HEADERS,
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'list-id',
  'list-unsubscribe',
  'precedence',
  'auto-submitted',
  'authentication-results',
  'x-google-original-message-id',
]);

/** What mailparser's splitter would count for this header block; over its limit it refuses the message. */
export function headerBlockCost(block: Buffer): number {
  let cost = 0;
  let start = 0;
  while (start < block.length) {
    const end = block.indexOf(0x0a, start);
    const stop = end < 0 ? block.length : end + 1;
    cost += Math.max(stop - start, SPLITTER_LINE_FLOOR);
    start = stop;
  }
  return cost;
}

export function isOversizedHeaderBlock(block: Buffer): boolean {
  return headerBlockCost(block) > SAFE_HEAD_COST;
}

/** Splits an address list at commas that are outside quotes, angle brackets and comments. */
export function splitAddressList(value: string): string[] {
  const items: string[] = [];
  let depthAngle = 0;
  let depthComment = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depthComment++;
    else if (c === ')' && depthComment > 0) depthComment--;
    else if (c === '<') depthAngle++;
    else if (c === '>' && depthAngle > 0) depthAngle--;
    else if (c === ',' && depthAngle === 0 && depthComment === 0) {
      const item = value.slice(start, i).trim();
      if (item !== '') items.push(item);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== '') items.push(last);
  return items;
}

export interface ReducedHeaders {
  block: Buffer;
  problems: string[];
}

/** The header fields of a block, unfolded, as [name, value] (lines without a colon are dropped). */
function fieldsOf(block: Buffer): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const line of block.toString('latin1').split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      // Unfolded whole (the block is in memory already), so the problem can say how many addresses there were.
      fields[fields.length - 1]![1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/**
 * The header block cut down to what capture reads. Kept in latin1 so the bytes of 8-bit headers
 * pass through unchanged for mailparser to decode as usual.
 */
export function reduceHeaderBlock(block: Buffer): ReducedHeaders {
  const problems: string[] = [`headers: the header block (${block.length} bytes) is over what the parser reads; only the headers capture uses were read`];
  const lines: string[] = [];
  const seen = new Map<string, number>();
  for (const [name, value] of fieldsOf(block)) {
    const lower = name.toLowerCase();
    if (!KEPT_HEADERS.has(lower)) continue;
    // The first of each field counts, as for the parser (a second From or Subject is noise);
    // Authentication-Results is one per receiving server.
    const count = seen.get(lower) ?? 0;
    if (count >= (lower === 'authentication-results' ? MAX_AUTHENTICATION_RESULTS : 1)) continue;
    seen.set(lower, count + 1);
    if (ADDRESS_HEADERS.has(lower)) {
      const addresses = splitAddressList(value);
      const kept: string[] = [];
      let chars = 0;
      for (const address of addresses) {
        if (kept.length >= MAX_ADDRESSES || chars + address.length > MAX_ADDRESS_CHARS) break;
        kept.push(address);
        chars += address.length;
      }
      if (kept.length < addresses.length) problems.push(`headers: only the first ${kept.length} of ${addresses.length} ${lower} addresses were read`);
      lines.push(`${name}: ${kept.join(',\r\n ')}`);
    } else {
      if (value.length > MAX_VALUE_CHARS) problems.push(`headers: ${lower} longer than ${MAX_VALUE_CHARS} characters, cut`);
      lines.push(`${name}: ${value.slice(0, MAX_VALUE_CHARS)}`);
    }
  }
  return { block: Buffer.from(lines.join('\r\n'), 'latin1'), problems };
}
