/**
 * What a drafter is: something that turns one message into a short summary clause. The line
 * around it (date, direction, names) is built by noteLine.ts from the stored data.
 */
import type { NoteDirection } from './noteLine.js';

/** One message as a drafter sees it: headers and the new part of the body, already untrusted-safe in size. */
export interface DraftInput {
  direction: NoteDirection;
  subject: string;
  from: string;
  to: string[];
  cc: string[];
  /** YYYY-MM-DD, for the model's context only; the line's date never comes from a drafter. */
  date: string;
  /** The body with quoted history and signature removed. */
  newText: string;
}

export interface Draft {
  summary: string;
  /** Tokens of the message given to the model (after bounding). */
  tokensIn?: number;
  /** Tokens the model generated. */
  tokensOut?: number;
}

export type DrafterKind = 'llama' | 'rule';

export interface Drafter {
  readonly kind: DrafterKind;
  /** The model file's name for the llama drafter, recorded on each proposal. */
  readonly model?: string;
  draft(input: DraftInput): Promise<Draft>;
  /** Frees the model and context; safe to call twice. */
  close(): Promise<void>;
}
