/**
 * What an admin may exclude: one address, or a whole registered domain with its sub-domains. Pure:
 * takes the typed text and the firm's own domains and mailboxes, returns the pattern to store.
 */
import { UsageError } from '../errors.js';
import { isPersonalDomain, isSameOrSubdomain, normalizeAddress, normalizeDomain, registeredDomain } from '../mail/addresses.js';

export interface ExclusionPattern {
  kind: 'address' | 'domain';
  /** As stored and matched: a lower-case address, or a registered domain. */
  pattern: string;
  /** Set when a sub-domain was typed and the whole registered domain is excluded instead. */
  widenedFrom?: string;
}

export interface FirmIdentity {
  /** The firm's workspace domain and aliases: excluding them would refuse every message. */
  internalDomains: readonly string[];
  /** Enrolled mailboxes: every copy in a mailbox involves its owner. */
  mailboxes: readonly string[];
  personalDomains?: readonly string[];
}

export function parseExclusionPattern(text: string, firm: FirmIdentity): ExclusionPattern {
  const typed = text.trim();
  if (typed === '') throw new UsageError('say what to exclude: an address (jane@example.com) or a domain (example.com).');
  const internal = firm.internalDomains.map(normalizeDomain).filter((d) => d !== '');
  const isFirm = (domain: string): boolean => internal.some((d) => isSameOrSubdomain(domain, d) || isSameOrSubdomain(d, domain));
  if (typed.includes('@') && !typed.startsWith('@')) {
    const address = normalizeAddress(typed);
    if (address === '') throw new UsageError(`${JSON.stringify(typed)} is not an email address.`);
    if (firm.mailboxes.some((mailbox) => normalizeAddress(mailbox) === address)) {
      throw new UsageError(`${address} is an enrolled mailbox: every message in it involves its owner. To stop capturing it, run crm-mail accounts remove ${address}.`);
    }
    return { kind: 'address', pattern: address };
  }
  const domain = normalizeDomain(typed);
  if (domain === '' || !domain.includes('.')) throw new UsageError(`${JSON.stringify(typed)} is neither an email address nor a domain such as example.com.`);
  const registered = registeredDomain(domain);
  if (isFirm(registered)) throw new UsageError(`${registered} is the firm's own domain: excluding it would refuse every message. Exclude a person's address instead.`);
  if (isPersonalDomain(registered, firm.personalDomains ?? [])) {
    throw new UsageError(`${registered} is a personal-mail provider shared by many people: exclude the person's address (name@${registered}) instead.`);
  }
  return registered === domain ? { kind: 'domain', pattern: domain } : { kind: 'domain', pattern: registered, widenedFrom: domain };
}
