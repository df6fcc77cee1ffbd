/**
 * Proof of completeness for one mailbox: ask Gmail for every message the investor index can match
 * (the same searches as backfill) and compare with what is stored. Missing = Gmail has matching mail
 * that is not stored; extra = stored investor mail Gmail no longer lists; mismatched = stored matches
 * that differ from what the current index says; unparsed = mail Gmail's searches find whose headers
 * could not be read in full (a header block over the parser's bounds), so nothing matched it here.
 */
import { listableGmailIds } from '../db/accounts.js';
import { storedGmailIds } from '../db/emails.js';
import type { GmailMessage, MailboxClient } from './ports.js';
import { rematchStored, type MatchDifference } from './rematch.js';
import { IGNORED_LABELS, pageContextFor, searchesFor, storeNewMessages, type MailboxWork } from './storePage.js';
import { emptyCounts } from '../db/syncRuns.js';
import { acceptedSearchPages } from './searches.js';

export interface VerifyExample {
  gmailId: string;
  reason: string;
  subject?: string;
  from?: string;
}

export interface VerifyReport {
  account: string;
  ok: boolean;
  listed: number;
  stored: number;
  missing: { count: number; examples: VerifyExample[] };
  extra: { count: number; examples: VerifyExample[] };
  mismatched: { count: number; examples: MatchDifference[] };
  unparsed: { count: number; examples: VerifyExample[] };
  apiCalls: number;
  apiUnits: number;
  /** False while the account's backfill is still under way: missing mail is then expected. */
  backfillComplete: boolean;
  /** Investor terms Gmail refuses to search even alone: their mail cannot be listed, so it is not proved complete. */
  unsearchable?: string[];
  /** With --fix: what was repaired (missing mail fetched, gone mail marked deleted, links recomputed). */
  fixed?: { stored: number; markedDeleted: number; relinked: number };
  error?: string;
  /** The error's kind when the account could not be verified (decides the exit code). */
  errorKind?: string;
}

export interface VerifyInput extends MailboxWork {
  examples?: number;
  /** Repair what can be repaired: fetch and store missing mail, mark gone mail deleted, rematch. */
  fix?: boolean;
}

const CHUNK = 100;

async function inChunks(client: MailboxClient, ids: string[], format: 'minimal' | 'metadata'): Promise<Map<string, GmailMessage | Error>> {
  const all = new Map<string, GmailMessage | Error>();
  for (let start = 0; start < ids.length; start += CHUNK) {
    for (const [id, value] of await client.getMessages(ids.slice(start, start + CHUNK), format)) all.set(id, value);
  }
  return all;
}

function header(message: GmailMessage, name: string): string | undefined {
  return message.payload?.headers?.find((item) => item.name?.toLowerCase() === name)?.value ?? undefined;
}

export async function verifyAccount(input: VerifyInput): Promise<VerifyReport> {
  const limit = input.examples ?? 10;
  const { db, account, client } = input;
  const report: VerifyReport = {
    account: account.email,
    ok: false,
    listed: 0,
    stored: 0,
    missing: { count: 0, examples: [] },
    extra: { count: 0, examples: [] },
    mismatched: { count: 0, examples: [] },
    unparsed: { count: 0, examples: [] },
    apiCalls: 0,
    apiUnits: 0,
    backfillComplete: account.backfillCompletedAt !== null,
    unsearchable: [],
  };
  const fixable = { missing: [] as string[], gone: [] as string[] };
  const addExample = (list: { count: number; examples: VerifyExample[] }, example: VerifyExample): void => {
    list.count += 1;
    if (list.examples.length < limit) list.examples.push(example);
  };

  // 1. What Gmail lists.
  const listed = new Set<string>();
  const queries = searchesFor(input.index, input.capture);
  const work = { db, accountId: account.id, client, index: input.index };
  for (const query of queries) {
    for await (const page of acceptedSearchPages(work, query, input.pageSize, (term) => report.unsearchable!.push(term))) {
      for (const message of page.messages) listed.add(message.id);
    }
  }
  report.listed = listed.size;

  // 2. What is stored and should be listed: live investor copies (every live copy under capture=all).
  const expected = new Set(listableGmailIds(db, account.id, { matchedOnly: input.capture === 'matched' }));
  report.stored = expected.size;

  // 3. Missing: listed, matchable, not stored (or stored but believed deleted or trashed).
  const notLive = [...listed].filter((id) => !expected.has(id));
  const knownRows = storedGmailIds(db, account.id, notLive);
  const unknown = notLive.filter((id) => !knownRows.has(id));
  for (const id of notLive.filter((item) => knownRows.has(item))) {
    // Stored, yet not live-and-matched here: either marked deleted/trashed, or stored without a match.
    const headers = (await inChunks(client, [id], 'metadata')).get(id);
    if (!headers || headers instanceof Error) continue;
    const match = input.index.match(await input.store.parse(headers), account.email);
    if (input.capture === 'matched' && match.investors.length === 0) continue;
    addExample(report.missing, {
      gmailId: id,
      reason: 'stored, but marked deleted or without its investor match, while Gmail lists it',
      subject: header(headers, 'subject'),
      from: header(headers, 'from'),
    });
  }
  const metadata = await inChunks(client, unknown, 'metadata');
  for (const id of unknown) {
    const message = metadata.get(id);
    if (!message || message instanceof Error) continue;
    if ((message.labelIds ?? []).some((label) => IGNORED_LABELS.has(label))) continue;
    const parsed = await input.store.parse(message);
    const match = input.index.match(parsed, account.email);
    if (match.excluded) continue;
    if (input.capture === 'matched' && match.investors.length === 0) {
      // Gmail's search found it but the headers read here did not match: when they were cut, the
      // match may be in what was not read, and the message is counted rather than passed over.
      const cut = input.store.headerProblems(parsed);
      if (cut.length > 0) {
        addExample(report.unparsed, { gmailId: id, reason: `found by the investor searches, but its headers could not be read in full (${cut.join('; ')})`, subject: header(message, 'subject'), from: header(message, 'from') });
      }
      continue;
    }
    addExample(report.missing, { gmailId: id, reason: 'in Gmail, matches an investor, not stored', subject: header(message, 'subject'), from: header(message, 'from') });
    fixable.missing.push(id);
  }

  // 4. Extra: stored investor copies Gmail does not list; ask Gmail why.
  const unlisted = [...expected].filter((id) => !listed.has(id));
  const answers = await inChunks(client, unlisted, 'minimal');
  for (const id of unlisted) {
    const answer = answers.get(id);
    let reason = 'Gmail has it, but the investor searches do not find it';
    if (answer instanceof Error && (answer as { kind?: string }).kind === 'not_found') {
      reason = 'deleted in Gmail, not yet marked deleted here';
      fixable.gone.push(id);
    } else if (answer instanceof Error) reason = `Gmail answered: ${answer.message}`;
    else if (answer && (answer.labelIds ?? []).some((label) => IGNORED_LABELS.has(label))) reason = 'in Trash or Spam in Gmail';
    addExample(report.extra, { gmailId: id, reason });
  }

  // 5. Mismatched: stored matches that differ from what the index says now.
  const rematch = rematchStored(db, input.index, { accountId: account.id, dryRun: true, keepExamples: limit });
  report.mismatched = { count: rematch.changed, examples: rematch.differences };

  if (input.fix) {
    const context = pageContextFor(input, emptyCounts());
    const page = 100;
    for (let start = 0; start < fixable.missing.length; start += page) await storeNewMessages(context, fixable.missing.slice(start, start + page), 'search');
    let markedDeleted = 0;
    db.transaction(() => {
      markedDeleted = input.store.markDeleted(account.id, fixable.gone);
    })();
    const relinked = report.mismatched.count > 0 ? rematchStored(db, input.index, { accountId: account.id }).changed : 0;
    report.fixed = { stored: context.counts.stored, markedDeleted, relinked };
  }

  const stats = client.stats();
  report.apiCalls = stats.calls;
  report.apiUnits = stats.units;
  report.ok = report.missing.count === 0 && report.extra.count === 0 && report.mismatched.count === 0 && report.unparsed.count === 0;
  return report;
}
