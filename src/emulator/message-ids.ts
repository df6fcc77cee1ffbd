/**
 * What Gmail's inbound SMTP does to a Message-ID it cannot use (docs/emulator.md, "Real-Gmail
 * behaviours"): mail without one gets a Message-ID of Gmail's own, tagged SMTPIN_ADDED_MISSING; a
 * header that is not an RFC 5322 msg-id (no angle brackets, no '@', spaces) is taken out, replaced
 * by one tagged SMTPIN_ADDED_BROKEN, and its value kept as X-Google-Original-Message-ID. Each
 * mailbox receives its own copy, so each copy gets its own id.
 */
import { createHash } from 'node:crypto';

type AssignedReason = 'MISSING' | 'BROKEN';

// RFC 5322 3.6.4: "<" dot-atom-text "@" (dot-atom-text / no-fold-literal) ">", CFWS around.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const DOT_ATOM = `${ATEXT}(?:\\.${ATEXT})*`;
const MSG_ID = new RegExp(`^<${DOT_ATOM}@(?:${DOT_ATOM}|\\[[\\x21-\\x5a\\x5e-\\x7e]*\\])>$`);

/** True when a Message-ID header value is one RFC 5322 msg-id (a trailing comment allowed). */
export function isWellFormedMessageId(value: string): boolean {
  const bare = value.replace(/\([^()]*\)\s*$/, '').trim();
  return MSG_ID.test(bare);
}

/**
 * A Gmail-assigned id, in the shape of those Gmail's SMTP writes (Google Workspace's log search
 * help shows `55760c10.0f4e810a.SMTPIN_ADDED_REJECT_SESSION.56cd.ffffd72a.GMR@mx.google.com`),
 * derived from `seed` so that a run is reproducible.
 */
function gmailAssignedId(reason: AssignedReason, seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `<${hex.slice(0, 8)}.${hex.slice(8, 16)}.SMTPIN_ADDED_${reason}.${hex.slice(16, 20)}.${hex.slice(20, 28)}.GMR@mx.google.com>`;
}

interface HeaderLine {
  name: string;
  /** The whole field, folded lines included, without its final line break. */
  text: string;
}

function splitHead(raw: Buffer): { lines: HeaderLine[]; eol: string; body: Buffer } {
  const text = raw.toString('latin1');
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const useCrlf = crlf >= 0 && (lf < 0 || crlf <= lf);
  const end = useCrlf ? crlf : lf;
  const eol = useCrlf ? '\r\n' : '\n';
  const head = end >= 0 ? text.slice(0, end) : text;
  const body = end >= 0 ? raw.subarray(Buffer.byteLength(text.slice(0, end), 'latin1') + eol.length * 2) : Buffer.alloc(0);
  const lines: HeaderLine[] = [];
  for (const line of head.split(eol)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1]!.text += eol + line;
    else lines.push({ name: line.slice(0, Math.max(0, line.indexOf(':'))).trim().toLowerCase(), text: line });
  }
  return { lines, eol, body };
}

const headerValue = (line: HeaderLine): string => line.text.slice(line.text.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();

/**
 * The copy of `raw` a Gmail mailbox keeps: unchanged when its Message-ID is well formed, else with
 * Gmail's own id (and the broken value kept as X-Google-Original-Message-ID). `seed` tells copies apart.
 */
export function withGmailMessageId(raw: Buffer, seed: string): Buffer {
  const { lines, eol, body } = splitHead(raw);
  const ids = lines.filter((line) => line.name === 'message-id');
  if (ids.length === 1 && isWellFormedMessageId(headerValue(ids[0]!))) return raw;
  const reason: AssignedReason = ids.length === 0 ? 'MISSING' : 'BROKEN';
  const added = [`Message-ID: ${gmailAssignedId(reason, seed)}`];
  if (ids.length > 0) added.push(`X-Google-Original-Message-ID: ${headerValue(ids[0]!)}`);
  const kept = lines.filter((line) => line.name !== 'message-id').map((line) => line.text);
  return Buffer.concat([Buffer.from([...added, ...kept].join(eol) + eol + eol, 'latin1'), body]);
}
