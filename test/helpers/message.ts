import { blankMessage, type CanonicalMessage } from '../../src/mail/parse.js';

/** A parsed message built by hand: the parser's blank message plus `fields`. */
export function canonicalMessage(fields: Partial<CanonicalMessage> & Pick<CanonicalMessage, 'messageKey'>): CanonicalMessage {
  return { ...blankMessage(), ...fields };
}
