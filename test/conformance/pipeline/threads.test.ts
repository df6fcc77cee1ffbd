import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/db/open.js';
import { parseRaw, type CanonicalMessage } from '../../../src/mail/parse.js';
import { InvestorIndex } from '../../../src/match/investorIndex.js';
import { captureMessage, rematchStoredEmails } from '../../../src/capture.js';
import { getThread, keysOfThread, liveThreadId } from '../../../src/db/threads.js';
import { countByAccount, emailsByMessageKey, getEmail, listEmailsForRematch, markDeleted, matchesOf, replaceMatches, setLabels, storedGmailIds } from '../../../src/db/emails.js';
import { insertCrmFixture, listExclusions, listInvestors, addExclusion } from '../../../src/db/crm.js';
import { canonicalMessage } from '../../helpers/message.js';
import { tempDir } from '../../helpers/tmp.js';
import { corpusRaw, corpusTsv, migratedDb } from '../../pipeline/support.js';

const INTERNAL = { investors: [], direction: 'received' as const };

function liveThreadOf(db: Db, emailId: number): number {
  return liveThreadId(db, getEmail(db, emailId)!.thread_id!);
}

describe('threads across two mailboxes (corpus THREADS.tsv)', () => {
  const rows = corpusTsv('THREADS.tsv');
  const threads = [...new Set(rows.map((row) => row.thread!))];

  async function load(prefixes: string[]): Promise<Map<string, CanonicalMessage>> {
    const parsed = new Map<string, CanonicalMessage>();
    for (const prefix of prefixes) parsed.set(prefix, await parseRaw(corpusRaw(prefix)));
    return parsed;
  }

  for (const order of ['as listed', 'replies first'] as const) {
    it(`resolves each of the ${threads.length} threads into one conversation (${order}), Gmail threading unhelpful`, async () => {
      expect(threads).toHaveLength(4);
      const { db, accounts } = await migratedDb(tempDir());
      const prefixes = rows.map((row) => row.file!.slice(0, 4));
      const parsed = await load(prefixes);
      const sequence = order === 'as listed' ? rows : [...rows].reverse();
      const emailOf = new Map<string, number>();
      db.transaction(() => {
        sequence.forEach((row, index) => {
          const prefix = row.file!.slice(0, 4);
          // Alternate mailboxes; every copy gets its own Gmail thread id, so only the RFC headers can join them.
          const accountId = index % 2 === 0 ? accounts.jane : accounts.omar;
          const message = { ...parsed.get(prefix)!, gmailId: `g-${prefix}`, gmailThreadId: `gt-${prefix}`, internalDateMs: 1_000_000 + index };
          emailOf.set(prefix, captureMessage(db, { accountId, message, match: INTERNAL, contentLevel: 'full' }).emailId);
        });
      })();
      const threadIdOf = new Map<string, number>();
      for (const thread of threads) {
        const members = rows.filter((row) => row.thread === thread).map((row) => liveThreadOf(db, emailOf.get(row.file!.slice(0, 4))!));
        expect(new Set(members).size, `${thread} spans ${new Set(members).size} conversations`).toBe(1);
        threadIdOf.set(thread, members[0]!);
      }
      // ...and the four conversations stay apart.
      expect(new Set(threadIdOf.values()).size).toBe(4);
      // Every email row points at a live (unmerged) thread.
      for (const emailId of emailOf.values()) expect(getThread(db, getEmail(db, emailId)!.thread_id!)!.merged_into).toBeNull();
      db.close();
    });
  }

  it('a Gmail thread id alone joins nothing (Gmail also threads by subject); a message whose References link two threads merges them', async () => {
    const { db, accounts } = await migratedDb(tempDir());
    const base = (id: string, extra: Partial<CanonicalMessage>): CanonicalMessage =>
      canonicalMessage({ messageKey: id, messageId: id, subject: 'Deal', gmailId: `g-${id}`, internalDateMs: 1, ...extra });
    const capture = (accountId: number, message: CanonicalMessage) => captureMessage(db, { accountId, message, match: INTERNAL, contentLevel: 'full' });
    // In Jane's mailbox, a and b share Gmail thread T with no RFC link between them: two conversations.
    const a = capture(accounts.jane, base('a@x', { gmailThreadId: 'T', sentMs: 100 }));
    const b = capture(accounts.jane, base('b@x', { gmailThreadId: 'T', sentMs: 200 }));
    expect(b.threadId).not.toBe(a.threadId);
    // In Omar's mailbox, c is its own thread so far.
    const c = capture(accounts.omar, base('c@x', { gmailThreadId: 'U', sentMs: 50, subject: 'Deal (original)' }));
    expect(c.threadId).not.toBe(b.threadId);
    // d replies to both b and c: the two conversations become one; a stays apart.
    const d = capture(accounts.omar, base('d@x', { gmailThreadId: 'U', inReplyTo: 'b@x', references: ['c@x', 'b@x'], sentMs: 300 }));
    const survivor = Math.min(b.threadId, c.threadId);
    const absorbed = Math.max(b.threadId, c.threadId);
    expect(d.threadId).toBe(survivor);
    for (const r of [b, c, d]) expect(getEmail(db, r.emailId)!.thread_id).toBe(survivor);
    expect(getEmail(db, a.emailId)!.thread_id).toBe(a.threadId);
    expect(getThread(db, absorbed)!.merged_into).toBe(survivor);
    expect(keysOfThread(db, absorbed)).toEqual([]);
    expect(keysOfThread(db, survivor)).toEqual(expect.arrayContaining(['m:b@x', 'm:c@x', 'm:d@x']));
    expect(keysOfThread(db, survivor).some((key) => key.startsWith('g:'))).toBe(false);
    const thread = getThread(db, survivor)!;
    expect([thread.first_message_ms, thread.last_message_ms]).toEqual([50, 300]);
    expect(thread.subject).toBe('Deal (original)');
    // The same Gmail thread id in another mailbox joins nothing either.
    const e = capture(accounts.jane, base('e@x', { gmailThreadId: 'U', sentMs: 400 }));
    expect(e.threadId).not.toBe(survivor);
    db.close();
  });
});

describe('capture', () => {
  it('stores one row per mailbox copy of one logical message, with participants and matches', async () => {
    const { db, accounts } = await migratedDb(tempDir());
    insertCrmFixture(db, { investors: [{ id: 1, name: 'Razor', email: 'chad@cloudmark.com', firm: null }] });
    addExclusion(db, 'Spouse@Home.example', 'family');
    expect(listExclusions(db)).toEqual(['spouse@home.example']);
    const index = InvestorIndex.build(listInvestors(db), { workspaceDomain: 'northwind.vc', exclusions: listExclusions(db) });
    const message = await parseRaw(corpusRaw('d092'));
    const copies = [accounts.jane, accounts.omar].map((accountId, i) =>
      captureMessage(db, { accountId, message: { ...message, gmailId: `copy-${i}`, gmailThreadId: `t-${i}` }, match: index.match(message, 'jane@northwind.vc'), contentLevel: 'full' }),
    );
    expect(copies.map((c) => c.inserted)).toEqual([true, true]);
    expect(copies[0]!.threadId).toBe(copies[1]!.threadId);
    const rows = emailsByMessageKey(db, '20020725231115.GA11850@nexus.cloudmark.com');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ subject: '[Razor-users] Razor Agents 2.14 Released', from_address: 'chad@cloudmark.com', direction: 'received', is_bulk: 1, content_level: 'full' });
    expect(JSON.parse(rows[0]!.bulk_signals!).listId).toMatch(/razor-users/);
    expect(matchesOf(db, rows[0]!.id)).toEqual([{ investorId: 1, strategy: 'exact', address: 'chad@cloudmark.com' }]);
    const participants = db.prepare('SELECT role, address FROM email_participants WHERE email_id = ? ORDER BY role, address').all(rows[0]!.id);
    expect(participants).toContainEqual({ role: 'from', address: 'chad@cloudmark.com' });

    // Capturing the same copy again updates it, and a later headers-only sighting never downgrades it.
    const again = captureMessage(db, { accountId: accounts.jane, message: { ...message, gmailId: 'copy-0', gmailThreadId: 't-0', labelIds: ['INBOX'] }, match: { investors: [], direction: 'received' }, contentLevel: 'metadata' });
    expect(again).toEqual({ emailId: copies[0]!.emailId, threadId: copies[0]!.threadId, inserted: false });
    expect(getEmail(db, copies[0]!.emailId)).toMatchObject({ content_level: 'full', label_ids: '["INBOX"]' });
    expect(getEmail(db, copies[0]!.emailId)!.body_text).toMatch(/Razor/);

    // Excluded mail is refused outright.
    expect(() => captureMessage(db, { accountId: accounts.jane, message: { ...message, gmailId: 'x' }, match: { investors: [], direction: 'received', excluded: 'domain x is excluded' }, contentLevel: 'full' })).toThrow(/excluded/);

    // The small helpers the sync engine uses.
    expect(storedGmailIds(db, accounts.jane, ['copy-0', 'copy-1', 'nope'])).toEqual(new Set(['copy-0']));
    expect(setLabels(db, accounts.omar, 'copy-1', ['INBOX', 'STARRED'])).toBe(true);
    expect(markDeleted(db, accounts.omar, 'copy-1')).toBe(true);
    expect(markDeleted(db, accounts.omar, 'copy-1')).toBe(false);
    expect(countByAccount(db)).toEqual([
      { accountId: accounts.jane, emails: 1, matched: 0, deleted: 0, metadataOnly: 0 },
      { accountId: accounts.omar, emails: 1, matched: 1, deleted: 1, metadataOnly: 0 },
    ]);
    // Rematch: live copies only, newest first, with their participants back from JSON.
    const candidates = [...listEmailsForRematch(db)];
    expect(candidates.map((c) => c.emailId)).toEqual([copies[0]!.emailId]);
    expect(index.match(candidates[0]!, candidates[0]!.accountEmail).investors).toEqual([{ investorId: 1, strategy: 'exact', address: 'chad@cloudmark.com' }]);
    replaceMatches(db, candidates[0]!.emailId, index.match(candidates[0]!, candidates[0]!.accountEmail).investors);
    expect([...listEmailsForRematch(db, { investorId: 1 })].map((c) => c.emailId)).toEqual([copies[0]!.emailId]);

    // Rematch after the CRM changed: a new investor at the list's domain, then an exclusion.
    insertCrmFixture(db, { investors: [{ id: 2, name: 'SourceForge', email: 'admin@sourceforge.net', firm: null }] });
    const wider = InvestorIndex.build(listInvestors(db), { workspaceDomain: 'northwind.vc' });
    expect(rematchStoredEmails(db, wider)).toEqual({ checked: 1, changed: 1, excluded: 0 });
    expect(matchesOf(db, copies[0]!.emailId)).toEqual([
      { investorId: 1, strategy: 'exact', address: 'chad@cloudmark.com' },
      { investorId: 2, strategy: 'domain', address: 'razor-users@example.sourceforge.net' },
    ]);
    expect(rematchStoredEmails(db, wider)).toEqual({ checked: 1, changed: 0, excluded: 0 });
    const blocked = InvestorIndex.build(listInvestors(db), { workspaceDomain: 'northwind.vc', exclusions: ['cloudmark.com'] });
    expect(rematchStoredEmails(db, blocked)).toEqual({ checked: 1, changed: 1, excluded: 1 });
    expect(matchesOf(db, copies[0]!.emailId)).toEqual([]);
    db.close();
  });
});
