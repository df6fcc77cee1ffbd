import type { CanonicalMessage } from '../../src/mail/parse.js';

/** A parsed message built by hand: empty lists and texts, not bulk, no problems, plus `fields`. */
export function canonicalMessage(fields: Partial<CanonicalMessage> & Pick<CanonicalMessage, 'messageKey'>): CanonicalMessage {
  return {
    labelIds: [],
    references: [],
    subject: '',
    to: [],
    cc: [],
    bcc: [],
    replyTo: [],
    text: '',
    snippet: '',
    attachments: [],
    bulk: { isBulk: false },
    problems: [],
    ...fields,
  };
}
