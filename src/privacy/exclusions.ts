/**
 * Exclusions an admin manages: the list in force (the table, and CRM_GMAIL_EXCLUDE shown as from
 * the environment), adding one (which purges every stored copy it would have refused) and removing
 * one (which makes that mail eligible again for `rematch --remote`).
 */
import type { Db } from '../db/open.js';
import { deleteExclusion, copiesWithAddressEnding, forgetSearchedTerms, insertExclusion, listExclusionRows } from '../db/privacy.js';
import { InvestorIndex } from '../match/investorIndex.js';
import { normalizeAddress, normalizeDomain } from '../mail/addresses.js';
import type { ExclusionPattern } from './exclusionPattern.js';
import { purgeCopies, removeQueuedFiles, type PurgeOptions, type PurgeReport } from './purge.js';

export interface ExclusionInForce {
  pattern: string;
  kind: 'address' | 'domain';
  source: 'database' | 'environment';
  reason: string | null;
  addedBy: string | null;
  addedAt: string | null;
}

function kindOf(pattern: string): 'address' | 'domain' {
  return pattern.includes('@') && !pattern.startsWith('@') ? 'address' : 'domain';
}

/** Every exclusion the matcher applies, the environment's first (they cannot be removed from the CLI). */
export function exclusionsInForce(db: Db, fromEnvironment: readonly string[]): ExclusionInForce[] {
  const env = fromEnvironment
    .map((raw) => (kindOf(raw.trim()) === 'address' ? normalizeAddress(raw) : normalizeDomain(raw)))
    .filter((pattern) => pattern !== '')
    .map((pattern): ExclusionInForce => ({ pattern, kind: kindOf(pattern), source: 'environment', reason: null, addedBy: null, addedAt: null }));
  const table = listExclusionRows(db).map(
    (row): ExclusionInForce => ({ pattern: row.pattern, kind: kindOf(row.pattern), source: 'database', reason: row.reason, addedBy: row.addedBy, addedAt: row.createdAt }),
  );
  return [...env, ...table];
}

/** Stored copies (deleted ones too) with a participant the pattern covers. */
export function copiesCoveredBy(db: Db, pattern: string): number[] {
  const index = InvestorIndex.build([], { workspaceDomain: '', exclusions: [pattern] });
  return copiesWithAddressEnding(db, pattern)
    .filter((copy) => copy.addresses.some((address) => index.exclusionFor(normalizeAddress(address) || address) !== undefined))
    .map((copy) => copy.id);
}

export interface AddExclusionResult {
  pattern: string;
  added: boolean;
  purged: PurgeReport;
}

/**
 * Records the exclusion and purges what it covers in one transaction (a dry run rolls both back).
 * The purge finds mail by the pattern alone, so adding an exclusion again purges what slipped in.
 */
export function addExclusion(
  db: Db,
  parsed: ExclusionPattern,
  who: { reason: string | null; addedBy: string },
  options: Omit<PurgeOptions, 'proposalReason' | 'alsoInTransaction'>,
): AddExclusionResult {
  if (!options.dryRun) removeQueuedFiles(db, options.store);
  let added = false;
  const ids = copiesCoveredBy(db, parsed.pattern);
  const purged = purgeCopies(db, ids, { kind: 'delete' }, {
    ...options,
    proposalReason: `${parsed.kind} ${parsed.pattern} excluded`,
    alsoInTransaction: () => {
      added = insertExclusion(db, parsed.pattern, who.reason, who.addedBy);
    },
  });
  return { pattern: parsed.pattern, added, purged };
}

export interface RemoveExclusionResult {
  pattern: string;
  /** Whether the table had it (with dryRun: would be removed). */
  removed: boolean;
  /** Mailboxes whose investor searches `rematch --remote` will list again. */
  mailboxesToSearch: number;
}

/** Removes a table exclusion; every finished mailbox is marked to be searched again by `rematch --remote`. */
export function removeExclusion(db: Db, pattern: string, dryRun: boolean): RemoveExclusionResult {
  const present = listExclusionRows(db).some((row) => row.pattern === pattern);
  if (!present || dryRun) return { pattern, removed: present, mailboxesToSearch: 0 };
  let mailboxesToSearch = 0;
  db.transaction(() => {
    deleteExclusion(db, pattern);
    mailboxesToSearch = forgetSearchedTerms(db);
  })();
  return { pattern, removed: true, mailboxesToSearch };
}
