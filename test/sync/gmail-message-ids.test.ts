/**
 * Gmail gives mail without a usable Message-ID one of its own, per mailbox copy: a missing one is
 * added (SMTPIN_ADDED_MISSING), a malformed one (here: without its angle brackets) replaced
 * (SMTPIN_ADDED_BROKEN) and kept as X-Google-Original-Message-ID. The copies of such a message in
 * several partners' mailboxes are still one logical message, with one proposal per investor, and
 * its stored Message-ID is the sender's, as in the scenario's truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type Scenario } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { gmailFor } from '../emulator/helpers.js';
import { expectedCapture, plain, startFirm, storedCapture, type Firm } from './firm.js';

const dir = tempDir('crm-mail-gmail-ids-');
const PICKED_PER_KIND = 3;

interface Picked {
  /** The truth's Message-ID, without brackets. */
  messageId: string;
  investorIds: number[];
  /** Partner mailboxes holding a copy. */
  accounts: string[];
  subject: string;
  dateHeader: string;
}

const broken: Picked[] = [];
const missing: Picked[] = [];
let firm: Firm;

function headerOf(raw: Buffer, name: string): string {
  const head = raw.toString('latin1').split(/\r?\n\r?\n/)[0] ?? '';
  return head.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'im'))?.[1]?.trim() ?? '';
}

/** Investor messages that sit in two mailboxes or more, first the oldest. */
function sharedInvestorMessages(scenario: Scenario): Picked[] {
  const byId = new Map<string, Picked>();
  for (const partner of scenario.partners) {
    scenario.mailboxes[partner.email]!.forEach((message, index) => {
      const truth = scenario.truth[partner.email]![index]!;
      if (truth.kind !== 'investor' || truth.investorIds.length === 0 || message.labelIds.includes('TRASH') || message.labelIds.includes('SPAM')) return;
      const id = truth.messageId.slice(1, -1);
      const entry = byId.get(id) ?? { messageId: id, investorIds: [...truth.investorIds], accounts: [], subject: headerOf(message.raw, 'Subject'), dateHeader: headerOf(message.raw, 'Date') };
      entry.accounts.push(partner.email.toLowerCase());
      byId.set(id, entry);
    });
  }
  return [...byId.values()].filter((entry) => entry.accounts.length >= 2);
}

/** The sender wrote the Message-ID without brackets (`broken`) or not at all (`missing`), in every copy. */
function rewriteSenders(scenario: Scenario): void {
  const shared = sharedInvestorMessages(scenario);
  broken.push(...shared.slice(0, PICKED_PER_KIND));
  missing.push(...shared.slice(PICKED_PER_KIND, 2 * PICKED_PER_KIND));
  const change = new Map<string, 'broken' | 'missing'>([...broken.map((p) => [p.messageId, 'broken'] as const), ...missing.map((p) => [p.messageId, 'missing'] as const)]);
  for (const partner of scenario.partners) {
    const box = scenario.mailboxes[partner.email]!;
    box.forEach((message, index) => {
      const id = scenario.truth[partner.email]![index]!.messageId.slice(1, -1);
      const kind = change.get(id);
      if (!kind) return;
      const text = message.raw.toString('latin1');
      const edited = text.replace(/^Message-ID:[^\r\n]*\r?\n/im, kind === 'broken' ? `Message-ID: ${id}\r\n` : '');
      expect(edited).not.toBe(text);
      box[index] = { raw: Buffer.from(edited, 'latin1'), labelIds: message.labelIds, internalDate: message.internalDate } as unknown as (typeof box)[number];
    });
  }
}

interface CopyRow {
  account: string;
  messageKey: string;
  rfcMessageId: string | null;
}

function copiesOf(picked: Picked): CopyRow[] {
  const db = firm.open();
  try {
    return db
      .prepare(
        `SELECT a.email AS account, e.message_key AS messageKey, e.rfc_message_id AS rfcMessageId
           FROM emails e JOIN email_accounts a ON a.id = e.account_id
          WHERE e.subject = ? AND e.date_header = ? AND e.deleted_at IS NULL ORDER BY a.email`,
      )
      .all(picked.subject, picked.dateHeader) as CopyRow[];
  } finally {
    db.close();
  }
}

function proposalsFor(messageKey: string): number[] {
  const db = firm.open();
  try {
    return (db.prepare('SELECT investor_id AS id FROM email_activity_proposals WHERE message_key = ? ORDER BY investor_id').all(messageKey) as Array<{ id: number }>).map((row) => row.id);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 31, partners: 3, messages: 60 }, emulator: { rewriteMessageIds: true }, edit: rewriteSenders, env: { CRM_MAIL_DRAFTER: 'rule' } });
  expect(broken).toHaveLength(PICKED_PER_KIND);
  expect(missing).toHaveLength(PICKED_PER_KIND);
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  // Every captured message is after the cutoff, so each logical message gets its proposals.
  const db = firm.open();
  db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', '2000-01-01')").run();
  db.close();
  const result = await runCli(['--json', 'sync'], { env: firm.env });
  expect(result.code, result.stderr + result.stdout).toBe(0);
});
afterAll(async () => firm?.stop());

describe('Message-IDs Gmail assigned (emulator rewriteMessageIds)', () => {
  it('Gmail did give each copy its own id (what crm-mail has to see through)', async () => {
    const served = async (account: string, subject: string): Promise<Record<string, string>> => {
      const client = gmailFor(firm.emu, account);
      for (const id of firm.emu.messageIds(account)) {
        const message = (await client.users.messages.get({ userId: 'me', id, format: 'metadata' })).data;
        const headers = Object.fromEntries((message.payload?.headers ?? []).map((h) => [h.name!.toLowerCase(), h.value!]));
        if (headers.subject === subject) return headers;
      }
      throw new Error(`no copy of ${subject} in ${account}`);
    };
    const [first, second] = await Promise.all(broken[0]!.accounts.slice(0, 2).map((account) => served(account, broken[0]!.subject)));
    expect(first!['message-id']).toMatch(/^<[0-9a-f.]+SMTPIN_ADDED_BROKEN\.[0-9a-f.]+GMR@mx\.google\.com>$/);
    expect(first!['x-google-original-message-id']).toBe(broken[0]!.messageId);
    expect(second!['message-id']).not.toBe(first!['message-id']);
    const lost = await served(missing[0]!.accounts[0]!, missing[0]!.subject);
    expect(lost['message-id']).toMatch(/SMTPIN_ADDED_MISSING/);
    expect(lost['x-google-original-message-id']).toBeUndefined();
    // None of Gmail's made-up ids is stored as a Message-ID.
    const db = firm.open();
    expect(db.prepare("SELECT count(*) AS n FROM emails WHERE rfc_message_id LIKE '%SMTPIN_ADDED%' OR message_key LIKE '%SMTPIN_ADDED%'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('a broken id: every copy is keyed by the sender\'s id (X-Google-Original-Message-ID), one message, one proposal per investor', () => {
    for (const picked of broken) {
      const copies = copiesOf(picked);
      expect(copies.map((copy) => copy.account), picked.messageId).toEqual([...picked.accounts].sort());
      for (const copy of copies) expect(copy, picked.messageId).toMatchObject({ messageKey: picked.messageId, rfcMessageId: picked.messageId });
      expect(proposalsFor(picked.messageId)).toEqual([...picked.investorIds].sort((a, b) => a - b));
    }
  });

  it('a missing id: the copies share one key (not Gmail\'s per-copy ids), no stored Message-ID, one proposal per investor', () => {
    for (const picked of missing) {
      const copies = copiesOf(picked);
      expect(copies.map((copy) => copy.account), picked.subject).toEqual([...picked.accounts].sort());
      const keys = new Set(copies.map((copy) => copy.messageKey));
      expect(keys.size, picked.subject).toBe(1);
      const [key] = [...keys];
      expect(key).toMatch(/^synthetic:/);
      expect(copies.every((copy) => copy.rfcMessageId === null)).toBe(true);
      expect(proposalsFor(key!)).toEqual([...picked.investorIds].sort((a, b) => a - b));
    }
  });

  it('everything else is captured exactly as the truth says, by Message-ID', () => {
    const db = firm.open();
    const stored = storedCapture(db);
    db.close();
    expect(stored.duplicates).toBe(0);
    const expected = expectedCapture(firm.scenario);
    // Mail that came without an id has none stored: it is compared above, by its headers.
    for (const picked of missing) for (const account of picked.accounts) expect(expected.get(account)!.delete(picked.messageId)).toBe(true);
    for (const box of stored.byAccount.values()) for (const key of [...box.keys()]) if (key.startsWith('(no id')) box.delete(key);
    expect(plain(stored.byAccount)).toEqual(plain(expected));
  });
});
