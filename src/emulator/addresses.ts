/**
 * Address-list reading for search: display names and addresses out of From/To/Cc/Bcc values,
 * tolerant of the messy forms real mail has (bare addresses, groups, missing brackets).
 */
export interface Address {
  /** Lower-cased display name ('' when absent). */
  name: string;
  /** Lower-cased address ('' when the entry has none). */
  address: string;
  /** Parts of the address, precomputed because searches test them many times. */
  local: string;
  domain: string;
  addressWords: string[];
  nameWords: string[];
}

const ADDRESS = /[^\s<>(),;:"@]+@[^\s<>(),;:"@]+/g;

/** Splits a header value into entries on commas/semicolons outside quotes and angle brackets. */
export function parseAddressList(value: string | undefined): Address[] {
  if (!value) return [];
  const entries: string[] = [];
  let current = '';
  let quoted = false;
  let angle = 0;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle++;
    else if (!quoted && ch === '>') angle = Math.max(0, angle - 1);
    if (!quoted && angle === 0 && (ch === ',' || ch === ';')) {
      entries.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  entries.push(current);
  const out: Address[] = [];
  for (const entry of entries) {
    const text = entry.replace(/^[^:<"]*:\s*/, (m) => (m.includes('@') ? m : '')).trim();
    if (!text) continue;
    const found = text.match(ADDRESS);
    const address = found ? (found[found.length - 1] as string).toLowerCase().replace(/\.$/, '') : '';
    let name = text.replace(/<[^>]*>/g, '').replace(ADDRESS, '').replace(/["()]/g, ' ').trim();
    if (!address && !name) continue;
    name = name.replace(/\s+/g, ' ').toLowerCase();
    const at = address.lastIndexOf('@');
    out.push({
      name,
      address,
      local: at >= 0 ? address.slice(0, at) : address,
      domain: at >= 0 ? address.slice(at + 1) : '',
      addressWords: address ? address.split(/[@.+_-]/) : [],
      nameWords: name ? name.split(/[\s,.'-]+/) : [],
    });
  }
  return out;
}

/**
 * Gmail-like match of a from:/to:/cc: term (already lower-cased and trimmed) against one address: full address (exact), `local@`,
 * a bare domain (also matching its sub-domains, e.g. fund.com ⊇ mail.fund.com), a bare local part
 * or word of the address, or a word/phrase of the display name.
 */
export function addressMatches(entry: Address, term: string): boolean {
  if (!term) return false;
  const { address, local, domain } = entry;
  if (term.includes('@')) {
    if (term.startsWith('@')) return domain === term.slice(1) || domain.endsWith('.' + term.slice(1));
    if (term.endsWith('@')) return local === term.slice(0, -1);
    return address === term;
  }
  if (domain && (domain === term || domain.endsWith('.' + term))) return true;
  if (local === term) return true;
  if (entry.addressWords.includes(term)) return true;
  if (entry.name) {
    if (term.includes(' ')) return entry.name.includes(term);
    return entry.nameWords.includes(term) || entry.name === term;
  }
  return false;
}
