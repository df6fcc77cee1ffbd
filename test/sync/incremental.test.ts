import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-incremental-');
let firm: Firm;
let partner: string;
let investor: { id: number; contact: string };
let counter = 0;

function rawMessage(from: string, to: string, subject: string, dateMs: number): { raw: Buffer; messageId: string } {
  counter += 1;
  const messageId = `incremental-${counter}-${dateMs}@test.example`;
  const raw = Buffer.from(
    [
      `From: ${from}`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Date: ${new Date(dateMs).toUTCString()}`,
      `Message-ID: <${messageId}>`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `${subject}: the body.`,
      '',
    ].join('\r\n'),
  );
  return { raw, messageId };
}

interface SyncJson {
  ok: boolean;
  accounts: Array<{ account: string; kind: string; status: string; stored: number; deleted: number; labelChanges: number; details: { path?: string } }>;
}

async function sync(): Promise<SyncJson> {
  const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return JSON.parse(result.stdout) as SyncJson;
}

function row(messageId: string): { gmail_id: string; deleted_at: string | null; label_ids: string; investors: string | null } | undefined {
  const db = firm.open();
  try {
    return db
      .prepare(
        `SELECT e.gmail_id, e.deleted_at, e.label_ids, (SELECT group_concat(investor_id) FROM email_investor_matches m WHERE m.email_id = e.id) AS investors
           FROM emails e JOIN email_accounts a ON a.id = e.account_id WHERE a.email = ? AND e.rfc_message_id = ?`,
      )
      .get(partner, messageId) as never;
  } finally {
    db.close();
  }
}

function storedIds(): Array<{ gmail_id: string; rfc_message_id: string; internal_date_ms: number }> {
  const db = firm.open();
  try {
    return db
      .prepare(
        `SELECT e.gmail_id, e.rfc_message_id, e.internal_date_ms FROM emails e JOIN email_accounts a ON a.id = e.account_id
          WHERE a.email = ? AND e.deleted_at IS NULL AND e.label_ids NOT LIKE '%TRASH%' ORDER BY e.internal_date_ms`,
      )
      .all(partner) as never;
  } finally {
    db.close();
  }
}

async function verifyOk(): Promise<void> {
  const result = await runCli(['--json', 'verify'], { env: firm.env });
  const report = JSON.parse(result.stdout) as { ok: boolean };
  expect(report, result.stdout).toMatchObject({ ok: true });
  expect(result.code).toBe(0);
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 21 } });
  partner = firm.scenario.partners[0]!.email.toLowerCase();
  const institution = firm.scenario.investors.find((item) => item.domains.length > 0)!;
  investor = { id: institution.id, contact: institution.contacts[0]! };
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  const first = await sync();
  expect(first.accounts.every((account) => account.kind === 'backfill' && account.status === 'ok')).toBe(true);
});
afterAll(async () => firm?.stop());

describe('incremental sync', () => {
  it('picks up new mail, deletions and label changes through history', async () => {
    const fresh = rawMessage(investor.contact, partner, 'Follow-up on the data room', firm.emu.now());
    firm.emu.addMessage(partner, fresh.raw, { labelIds: ['INBOX', 'UNREAD'] });
    const personal = rawMessage('friend@unrelated-family.example', partner, 'Dinner on Friday?', firm.emu.now());
    firm.emu.addMessage(partner, personal.raw, { labelIds: ['INBOX'] });
    const [gone, relabelled, trashed] = storedIds();
    firm.emu.deleteMessage(partner, gone!.gmail_id);
    firm.emu.modifyLabels(partner, relabelled!.gmail_id, ['STARRED'], ['INBOX']);
    firm.emu.modifyLabels(partner, trashed!.gmail_id, ['TRASH'], ['INBOX']);

    const result = await sync();
    const mine = result.accounts.find((account) => account.account === partner)!;
    expect(mine).toMatchObject({ kind: 'incremental', status: 'ok', stored: 1, deleted: 1 });
    expect(mine.labelChanges).toBeGreaterThanOrEqual(2);
    expect(row(fresh.messageId)).toMatchObject({ deleted_at: null, investors: String(investor.id) });
    expect(row(personal.messageId)).toBeUndefined();
    expect(row(gone!.rfc_message_id)?.deleted_at).not.toBeNull();
    const labels = JSON.parse(row(relabelled!.rfc_message_id)!.label_ids) as string[];
    expect(labels).toContain('STARRED');
    expect(labels).not.toContain('INBOX');
    expect(JSON.parse(row(trashed!.rfc_message_id)!.label_ids)).toContain('TRASH');
    // Nothing else changed in the other mailboxes.
    for (const other of result.accounts.filter((account) => account.account !== partner)) expect(other).toMatchObject({ kind: 'incremental', stored: 0, deleted: 0 });
    await verifyOk();
  });

  it('falls back to a bounded re-list when history has expired, and converges', async () => {
    // The deletion's history record is older than the emulator's 7-day retention when the next sync
    // asks: the cursor now points into forgotten history (Gmail answers 404).
    const oldest = storedIds()[0]!;
    firm.emu.deleteMessage(partner, oldest.gmail_id);
    firm.emu.advanceTime(8 * 86_400_000);
    const fresh = rawMessage(investor.contact, partner, 'Capital call timing', firm.emu.now());
    firm.emu.addMessage(partner, fresh.raw, { labelIds: ['INBOX'] });

    const result = await sync();
    const mine = result.accounts.find((account) => account.account === partner)!;
    expect(mine).toMatchObject({ kind: 'relist', status: 'ok', stored: 1, deleted: 1 });
    expect(mine.details.path).toBe('history_expired -> relist');
    expect(row(fresh.messageId)?.investors).toBe(String(investor.id));
    expect(row(oldest.rfc_message_id)?.deleted_at).not.toBeNull();
    await verifyOk();

    // The cursor taken before the re-list works: the next run is incremental again.
    const next = await sync();
    expect(next.accounts.find((account) => account.account === partner)).toMatchObject({ kind: 'incremental', status: 'ok', stored: 0 });
  });

  it('re-lists without asking history when the cursor is older than CRM_GMAIL_HISTORY_STALE_DAYS', async () => {
    const db = firm.open();
    db.prepare('UPDATE email_accounts SET history_id_at = ? WHERE email = ?').run(new Date(Date.now() - 10 * 86_400_000).toISOString(), partner);
    db.close();
    const fresh = rawMessage(investor.contact, partner, 'Quarterly report questions', firm.emu.now());
    firm.emu.addMessage(partner, fresh.raw, { labelIds: ['INBOX'] });
    const result = await sync();
    const mine = result.accounts.find((account) => account.account === partner)!;
    expect(mine).toMatchObject({ kind: 'relist', status: 'ok', stored: 1 });
    expect(mine.details.path).toBe('cursor_stale -> relist');
    expect(row(fresh.messageId)?.investors).toBe(String(investor.id));
  });
});
