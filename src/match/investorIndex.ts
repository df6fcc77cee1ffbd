/**
 * The investor index: which investor a message involves, and the Gmail searches that find such mail.
 *
 * Two strategies, in order of trust:
 * - exact: a participant's address is one the CRM lists for the investor;
 * - domain: a participant's registered domain is the investor's own organization domain (derived
 *   from its listed addresses and, when it names one, its firm), never a personal-mail domain,
 *   never the firm's workspace domain, and never a domain two investors share (ambiguous: reported).
 *
 * Only real addresses count: display names are never read, so `"ceo@fund.com" <x@evil.com>` is x@evil.com.
 * Pure: built from values, answers with values.
 */
import {
  domainOf,
  isPersonalDomain,
  isSameOrSubdomain,
  normalizeAddress,
  normalizeDomain,
  parseAddressCell,
  registeredDomain,
  type Address,
} from '../mail/addresses.js';
import { senderCheck, type SenderAuth } from '../mail/senderAuth.js';

export interface InvestorRecord {
  id: number;
  name: string;
  email: string | null;
  firm?: string | null;
}

export type MatchStrategy = 'exact' | 'domain';
export type Direction = 'sent' | 'received' | 'internal';

export interface InvestorMatch {
  investorId: number;
  strategy: MatchStrategy;
  address: string;
}

export interface MatchResult {
  investors: InvestorMatch[];
  direction: Direction;
  /** Set when the message involves an excluded address or domain: it must not be captured. */
  excluded?: string;
}

export interface IndexOptions {
  /** The firm's Google Workspace domain; its addresses are internal. */
  workspaceDomain: string;
  /** Addresses or domains whose mail is never captured (config CRM_GMAIL_EXCLUDE + email_exclusions). */
  exclusions?: readonly string[];
  /** Extra personal-mail domains (config CRM_GMAIL_PERSONAL_DOMAINS); `name.*` = any suffix. */
  personalDomains?: readonly string[];
  /** Other domains of the firm (aliases); treated like the workspace domain. */
  internalDomains?: readonly string[];
}

export type MatchableMessage = {
  from?: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
  /** The copy's Gmail id: a copy read from Gmail has one (and labels that say whether it was sent). */
  gmailId?: string;
  labelIds?: readonly string[];
  /** Whether Gmail's Authentication-Results vouch for the From domain ('dkim' / 'spf'), else 'none'. */
  senderAuth?: SenderAuth;
};

/** Default bound on one Gmail `q` string, in characters before URL encoding. */
export const DEFAULT_QUERY_LENGTH = 1500;

// A term must survive Gmail's query syntax unquoted.
const SAFE_TERM = /^[a-z0-9.!#$%&'*+/=?^_`|~-]+(@[a-z0-9.-]+)?$/;

export class InvestorIndex {
  readonly ambiguousDomains: Array<{ domain: string; investorIds: number[] }>;
  /** Investors whose cell held no readable address (reported by doctor/status). */
  readonly investorsWithoutAddress: number[];

  private constructor(
    private readonly exact: Map<string, number[]>,
    private readonly domains: Map<string, number>,
    private readonly internal: readonly string[],
    private readonly excludedAddresses: Set<string>,
    private readonly excludedDomains: readonly string[],
    ambiguous: Array<{ domain: string; investorIds: number[] }>,
    withoutAddress: number[],
  ) {
    this.ambiguousDomains = ambiguous;
    this.investorsWithoutAddress = withoutAddress;
  }

  static build(investors: readonly InvestorRecord[], opts: IndexOptions): InvestorIndex {
    const workspace = normalizeDomain(opts.workspaceDomain);
    const internal = [workspace, ...(opts.internalDomains ?? []).map(normalizeDomain)].filter((d) => d !== '');
    const excludedAddresses = new Set<string>();
    const excludedDomains: string[] = [];
    for (const pattern of opts.exclusions ?? []) {
      const trimmed = pattern.trim();
      if (trimmed.includes('@') && !trimmed.startsWith('@')) {
        const address = normalizeAddress(trimmed);
        if (address) excludedAddresses.add(address);
      } else {
        const domain = normalizeDomain(trimmed);
        if (domain) excludedDomains.push(domain);
      }
    }
    const personal = opts.personalDomains ?? [];
    const isInternalDomain = (domain: string): boolean => internal.some((d) => isSameOrSubdomain(domain, d) || isSameOrSubdomain(d, domain));
    const isExcluded = (address: string): boolean => excludedAddresses.has(address) || excludedDomains.some((d) => isSameOrSubdomain(domainOf(address), d));

    const exact = new Map<string, number[]>();
    const domainOwners = new Map<string, Set<number>>();
    const withoutAddress: number[] = [];
    const claim = (domain: string, investorId: number): void => {
      if (domain === '') return;
      if (isPersonalDomain(domain, personal) || isInternalDomain(domain)) return;
      if (excludedDomains.some((d) => isSameOrSubdomain(domain, d))) return;
      let owners = domainOwners.get(domain);
      if (!owners) domainOwners.set(domain, (owners = new Set()));
      owners.add(investorId);
    };

    for (const investor of investors) {
      const addresses = parseAddressCell(investor.email);
      if (addresses.length === 0) withoutAddress.push(investor.id);
      for (const { address } of addresses) {
        if (isExcluded(address)) continue;
        const ids = exact.get(address);
        if (!ids) exact.set(address, [investor.id]);
        else if (!ids.includes(investor.id)) ids.push(investor.id);
        claim(registeredDomain(address), investor.id);
      }
      const firmDomain = domainFromFirm(investor.firm);
      if (firmDomain) claim(registeredDomain(firmDomain), investor.id);
    }

    const domains = new Map<string, number>();
    const ambiguous: Array<{ domain: string; investorIds: number[] }> = [];
    for (const [domain, owners] of [...domainOwners].sort(([a], [b]) => a.localeCompare(b))) {
      const ids = [...owners].sort((a, b) => a - b);
      if (ids.length === 1) domains.set(domain, ids[0]!);
      else ambiguous.push({ domain, investorIds: ids });
    }
    return new InvestorIndex(exact, domains, internal, excludedAddresses, excludedDomains, ambiguous, withoutAddress);
  }

  /** Whether an address belongs to the firm (its workspace domain, a subdomain, or the mailbox itself). */
  isInternal(address: string, accountEmail?: string): boolean {
    if (accountEmail && normalizeAddress(accountEmail) === address) return true;
    const domain = domainOf(address);
    return this.internal.some((d) => isSameOrSubdomain(domain, d));
  }

  /**
   * Whether the firm sent this copy. Anyone can write a partner's address in From, so for a copy
   * read from Gmail the From header alone never decides: the SENT label does (Gmail sets it on the
   * sender's own copy), or a From at the firm that Gmail authenticated (a colleague's copy of a
   * partner's mail, with DKIM or SPF passing for the firm's domain). A file has neither, so its
   * From header is all there is.
   */
  private sentByFirm(message: MatchableMessage, fromAddress: string, account: string | undefined): boolean {
    const fromFirm = fromAddress !== '' && this.isInternal(fromAddress, account);
    if (message.gmailId === undefined) return fromFirm;
    const check = senderCheck(message);
    return check === 'sent' || (fromFirm && check !== 'none');
  }

  /** The exclusion an address falls under, if any. */
  exclusionFor(address: string): string | undefined {
    if (this.excludedAddresses.has(address)) return `address ${address} is excluded`;
    const domain = domainOf(address);
    const hit = this.excludedDomains.find((d) => isSameOrSubdomain(domain, d));
    return hit ? `domain ${hit} is excluded` : undefined;
  }

  /**
   * Matches one message. Reply-To is checked against exclusions but never matched: anyone can
   * set it, and it does not say the investor took part.
   */
  match(message: MatchableMessage, accountEmail?: string): MatchResult {
    const account = accountEmail ? normalizeAddress(accountEmail) : undefined;
    const fromAddress = message.from ? normalizeAddress(message.from.address) : '';
    const participants: string[] = [];
    for (const a of [message.from, ...message.to, ...message.cc, ...message.bcc]) {
      const address = a ? normalizeAddress(a.address) : '';
      if (address !== '' && !participants.includes(address)) participants.push(address);
    }
    const everyone = [...participants, ...message.replyTo.map((a) => normalizeAddress(a.address)).filter((a) => a !== '')];

    const external = participants.filter((address) => !this.isInternal(address, account));
    let direction: Direction;
    if (participants.length > 0 && external.length === 0) direction = 'internal';
    else if (this.sentByFirm(message, fromAddress, account)) direction = 'sent';
    else direction = 'received';

    for (const address of everyone) {
      const reason = this.exclusionFor(address);
      if (reason) return { investors: [], direction, excluded: reason };
    }
    if (direction === 'internal') return { investors: [], direction };

    const found = new Map<number, InvestorMatch>();
    for (const address of external) {
      for (const investorId of this.exact.get(address) ?? []) {
        const current = found.get(investorId);
        if (!current || current.strategy === 'domain') found.set(investorId, { investorId, strategy: 'exact', address });
      }
    }
    for (const address of external) {
      const investorId = this.domains.get(registeredDomain(address));
      if (investorId !== undefined && !found.has(investorId)) found.set(investorId, { investorId, strategy: 'domain', address });
    }
    return { investors: [...found.values()].sort((a, b) => a.investorId - b.investorId), direction };
  }

  /**
   * The addresses and domains the searches cover, sorted: unambiguous organization domains, and
   * listed addresses not already covered by one of those domains.
   */
  terms(): string[] {
    const terms = new Set<string>(this.domains.keys());
    for (const address of this.exact.keys()) {
      if (this.isInternal(address)) continue;
      if (terms.has(domainOf(address))) continue;
      terms.add(address);
    }
    return [...terms].filter((term) => SAFE_TERM.test(term)).sort();
  }

  /** Gmail `q` strings that find all mail this index can match, each at most `maxLength` characters. */
  searchQueries(maxLength: number = DEFAULT_QUERY_LENGTH): string[] {
    return this.queriesForTerms(this.terms(), maxLength);
  }

  /** Gmail `q` strings for these terms only (for investors or addresses added since the last sync). */
  queriesForTerms(terms: readonly string[], maxLength: number = DEFAULT_QUERY_LENGTH): string[] {
    return buildQueries(terms, maxLength, this.exclusionTerms());
  }

  /** The excluded addresses and domains, as search terms. */
  exclusionTerms(): string[] {
    return [...new Set([...this.excludedAddresses, ...this.excludedDomains])].filter((term) => SAFE_TERM.test(term)).sort();
  }

  /**
   * The negative terms alone: the search for capture=all, which lists the whole mailbox except
   * excluded people's mail ('' when nothing is excluded).
   */
  exclusionSearch(maxLength: number = DEFAULT_QUERY_LENGTH): string {
    return exclusionSuffix(this.exclusionTerms(), maxLength);
  }
}

/** One term as a Gmail OR-group member list: from, to, cc and bcc. */
function termClauses(term: string): string {
  return `from:${term} to:${term} cc:${term} bcc:${term}`;
}

/** One excluded term as negative clauses: mail from or to it never comes back from Gmail. */
function negativeClauses(term: string): string {
  return `-from:${term} -to:${term} -cc:${term} -bcc:${term}`;
}

/**
 * The negative clauses of as many exclusions as fit in `maxLength` characters. Exclusions that do
 * not fit are still refused by the matcher: their mail is fetched, then dropped in memory.
 */
export function exclusionSuffix(exclusions: readonly string[], maxLength: number): string {
  const clauses: string[] = [];
  let length = 0;
  for (const term of exclusions) {
    const clause = negativeClauses(term);
    if (length + clause.length + 1 > maxLength) break;
    clauses.push(clause);
    length += clause.length + 1;
  }
  return clauses.join(' ');
}

/**
 * Packs terms into `{...}` OR-groups, each followed by the exclusions' negative clauses, no longer
 * than maxLength each. The negatives take at most half of each query, so the positive terms keep
 * room; every query carries the same negatives.
 */
export function buildQueries(terms: readonly string[], maxLength: number = DEFAULT_QUERY_LENGTH, exclusions: readonly string[] = []): string[] {
  const negatives = exclusionSuffix(exclusions, Math.floor(maxLength / 2));
  const budget = negatives === '' ? maxLength : maxLength - negatives.length - 1;
  const groups: string[] = [];
  let current: string[] = [];
  let length = 2;
  for (const raw of terms) {
    const term = raw.trim().toLowerCase();
    if (term === '' || !SAFE_TERM.test(term)) continue;
    const clause = termClauses(term);
    const added = clause.length + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && length + added > budget) {
      groups.push(`{${current.join(' ')}}`);
      current = [];
      length = 2;
    }
    current.push(clause);
    length += clause.length + (current.length > 1 ? 1 : 0);
  }
  if (current.length > 0) groups.push(`{${current.join(' ')}}`);
  return negatives === '' ? groups : groups.map((group) => `${group} ${negatives}`);
}

/**
 * Halves a search `buildQueries` made, for a Gmail that refuses it (HTTP 400): its terms split in two
 * groups that keep the same negative clauses. A search of one term gives that term back (it cannot be
 * split further); a search without a term group (capture=all, negatives only) gives undefined.
 */
export function splitQuery(query: string): { parts: [string, string] } | { term: string } | undefined {
  const group = /^\{([^{}]*)\}(.*)$/.exec(query);
  if (!group) return undefined;
  const terms = (group[1] ?? '').split(/\s+/).filter((clause) => clause.startsWith('from:')).map((clause) => clause.slice('from:'.length));
  if (terms.length === 0) return undefined;
  if (terms.length === 1) return { term: terms[0]! };
  const rest = group[2] ?? '';
  const half = Math.ceil(terms.length / 2);
  const rebuild = (part: string[]): string => `{${part.map(termClauses).join(' ')}}${rest}`;
  return { parts: [rebuild(terms.slice(0, half)), rebuild(terms.slice(half))] };
}

/** A domain named by the firm cell ("fund.com", "https://www.fund.com/about"), else ''. */
export function domainFromFirm(firm: string | null | undefined): string {
  if (!firm) return '';
  const text = firm.trim().toLowerCase();
  const url = text.match(/^(?:https?:\/\/)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:[/:?#].*)?$/);
  if (!url) return '';
  const domain = normalizeDomain(url[1]);
  // A firm called "Acme Capital" has no dots; one called "fund.com" is a domain only if it has a TLD.
  return /\.[a-z]{2,}$/.test(domain) ? domain : '';
}
