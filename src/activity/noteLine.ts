/**
 * The activity line as it lands in the CRM. The date and the direction come from the stored
 * message, never from a drafter; a drafter supplies only the summary clause.
 *
 *   2026-11-28 · Sent · Jane Doe ↔ Ann Lee: Shared the Fund III deck; call set for Monday.
 */
import { cleanLine } from './text.js';

/** The longest summary a drafter may give (the JSON schema's maxLength for the model). */
export const SUMMARY_MAX = 160;
/** The longest line, the names included; an edited note is held to the same bound. */
export const LINE_MAX = 320;
const NAMES_MAX = 80;

export type NoteDirection = 'sent' | 'received';

export interface NoteParts {
  dateMs: number;
  direction: NoteDirection;
  partners: string[];
  contacts: string[];
  summary: string;
}

/** YYYY-MM-DD of an instant, in the machine's time zone (TZ), as the partner's calendar shows it. */
export function noteDate(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function names(list: string[]): string {
  const cleaned = list.map((name) => cleanLine(name, 60)).filter((name) => name !== '');
  return cleanLine(cleaned.length === 0 ? 'unknown' : cleaned.join(', '), NAMES_MAX);
}

export function buildNoteLine(parts: NoteParts): string {
  const direction = parts.direction === 'sent' ? 'Sent' : 'Received';
  const summary = cleanLine(parts.summary, SUMMARY_MAX) || '(no summary)';
  const line = `${noteDate(parts.dateMs)} · ${direction} · ${names(parts.partners)} ↔ ${names(parts.contacts)}: ${summary}`;
  return cleanLine(line, LINE_MAX);
}

/** A reviewer's own text for the note: held to the same one-line rules as a drafted one. */
export function cleanEditedNote(text: string): string {
  return cleanLine(text, LINE_MAX);
}

/** The line appended to the investor's notes: the note, stamped with who approved it. */
export function stampedLine(note: string, approverName: string): string {
  return `${cleanEditedNote(note)} — approved by ${cleanLine(approverName, 80)}`;
}
