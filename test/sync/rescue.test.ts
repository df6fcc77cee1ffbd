/**
 * Mail Gmail filed as Spam (or that was trashed before crm-mail saw it) and that a partner later
 * restores: Gmail reports the rescue only as `labelsRemoved` on a message crm-mail never stored.
 * Incremental sync must capture it then, the way it captures new mail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectExactCapture, startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-rescue-');
let firm: Firm;
let partner: string;
let contact: string;
let investorId: number;

function investorMail(subject: string): { raw: Buffer; messageId: string } {
  const messageId = `rescue-${subject.replace(/\W+/g, '-')}-${firm.emu.now()}@lp.example`;
  const raw = Buffer.from(
    [`From: ${contact}`, `To: ${partner}`, `Subject: ${subject}`, `Date: ${new Date(firm.emu.now()).toUTCString()}`, `Message-ID: <${messageId}>`, 'Content-Type: text/plain; charset=utf-8', '', 'Body.', ''].join('\r\n'),
  );
  return { raw, messageId };
}

async function sync(): Promise<{ kind: string; status: string; stored: number }> {
  firm.emu.resetCounters();
  const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
  expect(result.code, result.stderr + result.stdout).toBe(0);
  const summary = JSON.parse(result.stdout) as { accounts: Array<{ account: string; kind: string; status: string; stored: number }> };
  return summary.accounts.find((account) => account.account === partner)!;
}

function storedInvestors(messageId: string): string | null | undefined {
  const db = firm.open();
  try {
    const row = db
      .prepare(
        `SELECT (SELECT group_concat(investor_id) FROM email_investor_matches m WHERE m.email_id = e.id) AS investors
           FROM emails e JOIN email_accounts a ON a.id = e.account_id WHERE a.email = ? AND e.rfc_message_id = ? AND e.deleted_at IS NULL`,
      )
      .get(partner, messageId) as { investors: string | null } | undefined;
    return row === undefined ? undefined : row.investors;
  } finally {
    db.close();
  }
}

const gets = (): number => firm.emu.counters(partner).byMethod['messages.get']?.calls ?? 0;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 31, partners: 2, messages: 40 } });
  partner = firm.scenario.partners[0]!.email.toLowerCase();
  const institution = firm.scenario.investors.find((item) => item.domains.length > 0)!;
  contact = institution.contacts[0]!;
  investorId = institution.id;
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  expect((await sync()).kind).toBe('backfill');
  expectExactCapture(firm);
});
afterAll(async () => firm?.stop());

describe('mail restored from Spam or Trash', () => {
  it('is captured by the incremental run that sees the rescue, at the cost of one new message', async () => {
    const spam = investorMail('Commitment letter');
    const spamId = firm.emu.addMessage(partner, spam.raw, { labelIds: ['SPAM', 'UNREAD'] }).id;
    const trashed = investorMail('Side letter draft');
    const trashedId = firm.emu.addMessage(partner, trashed.raw, { labelIds: ['INBOX', 'UNREAD'] }).id;
    firm.emu.modifyLabels(partner, trashedId, ['TRASH'], ['INBOX']);

    // While they sit in Spam and Trash they are left out, and cost no get.
    expect(await sync()).toMatchObject({ kind: 'incremental', status: 'ok', stored: 0 });
    expect(gets()).toBe(0);
    expect(storedInvestors(spam.messageId)).toBeUndefined();
    expect(storedInvestors(trashed.messageId)).toBeUndefined();

    firm.emu.modifyLabels(partner, spamId, ['INBOX'], ['SPAM']);
    firm.emu.modifyLabels(partner, trashedId, ['INBOX'], ['TRASH']);
    expect(await sync()).toMatchObject({ kind: 'incremental', status: 'ok', stored: 2 });
    expect(storedInvestors(spam.messageId)).toBe(String(investorId));
    expect(storedInvestors(trashed.messageId)).toBe(String(investorId));
    // Headers, then the full message, for each of the two: exactly what a new message costs.
    expect(gets()).toBe(4);
    expect(firm.emu.counters(partner).byMethod['history.list']?.calls).toBe(1);

    // Nothing is fetched again on the next run.
    expect(await sync()).toMatchObject({ kind: 'incremental', status: 'ok', stored: 0 });
    expect(gets()).toBe(0);
  });

  it('a stored message restored from Trash keeps its one row and gets its labels back', async () => {
    const db = firm.open();
    const stored = db
      .prepare(`SELECT e.gmail_id, e.rfc_message_id FROM emails e JOIN email_accounts a ON a.id = e.account_id WHERE a.email = ? AND e.rfc_message_id LIKE 'rescue-Commitment%'`)
      .get(partner) as { gmail_id: string; rfc_message_id: string };
    db.close();
    firm.emu.modifyLabels(partner, stored.gmail_id, ['TRASH'], ['INBOX']);
    await sync();
    firm.emu.modifyLabels(partner, stored.gmail_id, ['INBOX'], ['TRASH']);
    expect(await sync()).toMatchObject({ kind: 'incremental', status: 'ok', stored: 0 });
    expect(gets()).toBe(0);
    const after = firm.open();
    const rows = after.prepare('SELECT label_ids FROM emails WHERE gmail_id = ?').all(stored.gmail_id) as Array<{ label_ids: string }>;
    after.close();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.label_ids)).toContain('INBOX');
    expect(JSON.parse(rows[0]!.label_ids)).not.toContain('TRASH');
  });
});
