/**
 * Terminal escape sequences (CSI, OSC, DCS/SOS/PM/APC, two-byte ESC forms) and C0/C1 control
 * characters other than newline and tab. Text from an email is untrusted: removing whole sequences,
 * not just the ESC byte, keeps leftovers such as "[31m" out of stored subjects and bodies, and keeps
 * the terminal from ever interpreting what a sender wrote.
 */
const ESCAPE_SEQUENCES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[PX^_][^\u001b]*(?:\u001b\\)?|[@-Z\\-_])/g;
// One alternation, not two passes: removing an ESC sequence first could join its neighbours into a new match.
const TERMINAL_SEQUENCES = new RegExp(`${ESCAPE_SEQUENCES.source}|\\u009b[0-?]*[ -/]*[@-~]|[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]`, 'g');

export function stripTerminalSequences(text: string): string {
  return text.replace(TERMINAL_SEQUENCES, '');
}

/** Only the ESC-introduced sequences, whole; control characters stay (for callers that turn line breaks into spaces first). */
export function stripEscapeSequences(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '');
}
