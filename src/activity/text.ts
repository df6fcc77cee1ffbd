/**
 * Pure text handling for proposals. Email text is untrusted: whatever it contains, what leaves
 * here is one line, bounded in length, with no control characters, escape sequences or
 * direction overrides that could disguise what a reviewer reads or what lands in the CRM.
 */
import { terminalLine, terminalText } from '../mail/terminalText.js';

/** One clean line of at most `maxLength` characters (an ellipsis marks a cut), never splitting a surrogate pair. */
export function cleanLine(text: string | null | undefined, maxLength: number): string {
  if (text === null || text === undefined) return '';
  const line = terminalLine(text).replace(/\s+/g, ' ').trim();
  return truncate(line, maxLength);
}

/** Cuts to `maxLength` code points, ending with "…" when something was cut. */
export function truncate(text: string, maxLength: number): string {
  const points = Array.from(text);
  if (points.length <= maxLength) return text;
  return points.slice(0, Math.max(0, maxLength - 1)).join('').trimEnd() + '…';
}

/** Multi-line text made inert for a terminal (for showing a whole message), lines kept. */
export function cleanBlock(text: string | null | undefined, maxLines = Infinity): string {
  if (!text) return '';
  const lines = terminalText(text)
    .split('\n')
    .map((line) => line.replace(/\t/g, '  ').trimEnd());
  return lines.slice(0, maxLines).join('\n');
}

// Where quoted history starts in a reply or forward: "On <date>, <name> wrote:", Outlook's
// "-----Original Message-----" or "From: ... Sent: ..." header block, Gmail's forwarded marker.
const HISTORY_MARKERS: RegExp[] = [
  /^\s*On\b.{0,200}\bwrote:\s*$/i,
  /^\s*Le\b.{0,200}\ba écrit\s*:\s*$/i,
  /^\s*Am\b.{0,200}\bschrieb.{0,100}:\s*$/i,
  /^\s*-{2,}\s*Original Message\s*-{2,}\s*$/i,
  /^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$/i,
  /^\s*_{10,}\s*$/,
  /^\s*From:\s.+$/i,
  /^\s*Begin forwarded message:\s*$/i,
];

/**
 * The part of a message body its author wrote: everything before quoted history or the
 * signature ("-- "), without ">" quoted lines. A reply that is only quotes gives "".
 */
export function newPartOfBody(body: string | null | undefined): string {
  if (!body) return '';
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === '-- ' || line === '--') break;
    // "On Tue, Jane <jane@x.com>" often wraps before "wrote:"; look one line ahead.
    const joined = index + 1 < lines.length ? `${line} ${lines[index + 1]}` : line;
    if (HISTORY_MARKERS.some((marker) => marker.test(line)) || (/^\s*On\b/i.test(line) && /\bwrote:\s*$/i.test(joined))) break;
    if (/^\s*>/.test(line)) continue;
    kept.push(line);
  }
  return kept.join('\n').trim();
}

const GREETING = /^(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|bonjour|hallo)\b[^.!?\n]{0,60}[,!:]?\s*$/i;

/** The first sentence of the new text, greetings skipped: what the rule drafter summarises from. */
export function firstSentence(text: string, maxLength = 140): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  while (lines.length > 0 && GREETING.test(lines[0]!)) lines.shift();
  const paragraph = lines.join(' ');
  const match = paragraph.match(/^.+?[.!?](?=\s|$)/);
  return cleanLine(match ? match[0] : paragraph, maxLength);
}

/** Subject without reply/forward prefixes ("Re: Fwd: RE:"), cleaned. */
export function bareSubject(subject: string | null | undefined, maxLength = 100): string {
  let text = cleanLine(subject, 400);
  for (;;) {
    const stripped = text.replace(/^\s*(re|fw|fwd|aw|wg|tr)\s*(\[\d+\])?\s*:\s*/i, '');
    if (stripped === text) break;
    text = stripped;
  }
  return truncate(text, maxLength);
}
