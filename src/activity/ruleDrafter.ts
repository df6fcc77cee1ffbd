/**
 * The deterministic drafter for firms without a model yet: subject, direction and the first
 * sentence of the new text. Chosen only explicitly (CRM_MAIL_DRAFTER=rule or --drafter rule).
 */
import type { Draft, DraftInput, Drafter } from './drafter.js';
import { SUMMARY_MAX } from './noteLine.js';
import { bareSubject, cleanLine, firstSentence } from './text.js';

export function ruleSummary(input: DraftInput): string {
  const subject = bareSubject(input.subject, 80);
  const sentence = firstSentence(input.newText, 120);
  const verb = input.direction === 'sent' ? 'Wrote' : 'They wrote';
  const about = subject ? `${verb} re "${subject}"` : verb;
  return cleanLine(sentence ? `${about} — ${sentence}` : about, SUMMARY_MAX);
}

export class RuleDrafter implements Drafter {
  readonly kind = 'rule' as const;
  readonly model = undefined;

  async draft(input: DraftInput): Promise<Draft> {
    return { summary: ruleSummary(input) };
  }

  async close(): Promise<void> {}
}
