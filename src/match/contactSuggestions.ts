/**
 * Suggested contacts: people who write or are written to in an investor's captured mail, on the
 * investor's own domain, but who are not in the investor's CRM cell. Pure: it takes the rows the
 * database gave and the cell as the CRM holds it, and returns who a person may want to add.
 */
import { isPersonalDomain, normalizeAddress, parseAddressCell, registeredDomain } from '../mail/addresses.js';
import type { InvestorCell, ParticipantSighting } from '../db/contactSuggestions.js';

export type { InvestorCell, ParticipantSighting };

export interface ContactSuggestion {
  investorId: number;
  investorName: string;
  address: string;
  /** The name most recently seen with the address. */
  name: string | null;
  messages: number;
  lastMs: number;
}

/** Per investor, the registered domains of the addresses its domain matches went through. */
export function matchedDomains(rows: ReadonlyArray<{ investorId: number; address: string }>): Map<number, Set<string>> {
  const result = new Map<number, Set<string>>();
  for (const row of rows) {
    const set = result.get(row.investorId) ?? new Set<string>();
    set.add(registeredDomain(row.address));
    result.set(row.investorId, set);
  }
  return result;
}

/**
 * `domainsOf(investor)` gives the domains that matched the investor by domain; an address there
 * and not in the cell is suggested, with the distinct messages it appears in and the last date.
 * Personal-mail domains never qualify: a gmail.com address says nothing about which investor it is.
 */
export function suggestContacts(
  investors: readonly InvestorCell[],
  sightings: readonly ParticipantSighting[],
  domainsOf: (investorId: number) => ReadonlySet<string>,
): ContactSuggestion[] {
  const byId = new Map(investors.map((investor) => [investor.id, investor]));
  const cells = new Map(investors.map((investor) => [investor.id, new Set(parseAddressCell(investor.email).map((entry) => entry.address))]));
  const found = new Map<string, ContactSuggestion & { keys: Set<string> }>();
  for (const sighting of sightings) {
    const investor = byId.get(sighting.investorId);
    const address = normalizeAddress(sighting.address);
    if (!investor || address === '' || cells.get(investor.id)?.has(address)) continue;
    const domain = registeredDomain(address);
    if (isPersonalDomain(domain) || !domainsOf(investor.id).has(domain)) continue;
    const key = `${investor.id}|${address}`;
    let entry = found.get(key);
    if (!entry) {
      entry = { investorId: investor.id, investorName: investor.name, address, name: null, messages: 0, lastMs: 0, keys: new Set() };
      found.set(key, entry);
    }
    entry.keys.add(sighting.messageKey);
    if (sighting.dateMs >= entry.lastMs) {
      entry.lastMs = sighting.dateMs;
      if (sighting.name && sighting.name.trim() !== '') entry.name = sighting.name.trim();
    }
  }
  return [...found.values()]
    .map(({ keys, ...entry }) => ({ ...entry, messages: keys.size }))
    .sort((a, b) => a.investorName.localeCompare(b.investorName) || a.investorId - b.investorId || b.messages - a.messages || a.address.localeCompare(b.address));
}
