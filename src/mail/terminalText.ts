/**
 * The one sanitiser for text that reaches a terminal, and the escape-sequence stripping the parser
 * applies to what it stores.
 *
 * Terminal escape sequences (CSI, OSC, DCS/SOS/PM/APC, two-byte ESC forms) and C0/C1 control
 * characters other than newline and tab. Text from an email is untrusted: removing whole sequences,
 * not just the ESC byte, keeps leftovers such as "[31m" out of stored subjects and bodies, and keeps
 * the terminal from ever interpreting what a sender wrote.
 */
const ESCAPE_SEQUENCES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[PX^_][^\u001b]*(?:\u001b\\)?|[@-Z\\-_])/g;
// One alternation, not two passes: removing an ESC sequence first could join its neighbours into a new match.
const TERMINAL_SEQUENCES = new RegExp(`${ESCAPE_SEQUENCES.source}|\\u009b[0-?]*[ -/]*[@-~]|[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]`, 'g');

// Unicode format characters that reorder or hide what a reader sees (bidi marks, embeddings,
// overrides and isolates, zero-width characters, BOM), unpaired surrogates and U+FFFD.
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Line breaks a terminal or a pager may honour besides LF: CR, VT, FF, NEL, U+2028, U+2029.
const OTHER_LINE_BREAKS = /\r\n?|[\u000b\u000c\u0085\u2028\u2029]/g;

export function stripTerminalSequences(text: string): string {
  return text.replace(TERMINAL_SEQUENCES, '');
}

/** Only the ESC-introduced sequences, whole; control characters stay (for callers that turn line breaks into spaces first). */
export function stripEscapeSequences(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '');
}

/**
 * Untrusted text made safe to print, lines kept: escape sequences and controls out (newline and tab
 * stay), every other kind of line break made a newline, bidi and invisible format characters out.
 */
export function terminalText(text: string | null | undefined): string {
  if (text === null || text === undefined) return '';
  return stripTerminalSequences(stripEscapeSequences(text).replace(OTHER_LINE_BREAKS, '\n')).replace(INVISIBLE, '');
}

/** terminalText on one line: line breaks and tabs become spaces. */
export function terminalLine(text: string | null | undefined): string {
  return terminalText(text).replace(/[\n\t]+/g, ' ');
}
