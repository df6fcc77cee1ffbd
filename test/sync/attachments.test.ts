import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm, attachmentStatus } from './firm.js';

const dir = tempDir('crm-mail-attach-');
// Gmail's attachment ids are short-lived ("Invalid attachment token"): here they last 2 s, so every id
// minted by the first run's message fetches has expired when the second run downloads.
const ATTACHMENT_ID_TTL_MS = 2000;
let firm: Firm;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 12, partners: 2 }, emulator: { attachmentIdTtlMs: ATTACHMENT_ID_TTL_MS } });
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

/** Per account: pending rows and the distinct messages they belong to. */
function pendingByAccount(): Map<string, { rows: number; messages: number }> {
  const db = firm.open();
  try {
    const rows = db
      .prepare(
        `SELECT a.email, count(*) AS rows, count(DISTINCT e.id) AS messages FROM email_attachments t
           JOIN emails e ON e.id = t.email_id JOIN email_accounts a ON a.id = e.account_id
          WHERE t.status <> 'stored' AND t.gmail_attachment_id IS NOT NULL GROUP BY a.email`,
      )
      .all() as Array<{ email: string; rows: number; messages: number }>;
    return new Map(rows.map((row) => [row.email, { rows: row.rows, messages: row.messages }]));
  } finally {
    db.close();
  }
}


describe('attachments in the sync run', () => {
  it('are downloaded after the messages; a failed download does not fail the run and is retried by the next one, with fresh ids once its id expired', async () => {
    // Gmail refuses every attachment download during the first run (and the client gives up at once).
    firm.emu.injectFault({ method: 'messages.attachments.get', kind: '500', times: 100_000 });
    const first = await runCli(['--json', 'sync', '--no-propose'], { env: { ...firm.env, CRM_GMAIL_RETRY_MAX: '0' } });
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as { accounts: Array<{ status: string; attachmentsStored: number; details: { attachmentsFailed?: number; attachmentsError?: string } }> };
    // The reason is in the run's record, not only a count.
    for (const account of summary.accounts.filter((item) => item.details.attachmentsFailed)) expect(account.details.attachmentsError).toMatch(/temporarily unavailable|HTTP 500/);
    expect(summary.accounts.every((account) => account.status === 'ok' && account.attachmentsStored === 0)).toBe(true);
    const failed = summary.accounts.reduce((total, account) => total + (account.details.attachmentsFailed ?? 0), 0);
    expect(failed).toBeGreaterThan(0);
    expect(attachmentStatus(firm)).toEqual({ failed });
    const status = JSON.parse((await runCli(['--json', 'status'], { env: firm.env })).stdout) as { accounts: Array<{ failedAttachments: number; alert: boolean; attachmentError: string | null }> };
    expect(status.accounts.reduce((total, account) => total + account.failedAttachments, 0)).toBe(failed);
    // One failed run is a hiccup: no alert yet, but the reason shows.
    expect(status.accounts.some((account) => account.alert)).toBe(false);
    expect(status.accounts.find((account) => account.failedAttachments > 0)?.attachmentError).toMatch(/temporarily unavailable|HTTP 500/);
    const human = await runCli(['status'], { env: firm.env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/attachment downloads? failed: .*(temporarily unavailable|HTTP 500)/);

    // A second failing run: the downloads keep failing, and status alerts with the reason.
    const again = await runCli(['sync', '--no-propose'], { env: { ...firm.env, CRM_GMAIL_RETRY_MAX: '0' } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/attachment downloads? failed: .*(temporarily unavailable|HTTP 500).*; retried next run\)/);
    const alerting = await runCli(['status'], { env: firm.env });
    expect(alerting.code).toBe(1);
    expect(alerting.stdout).toMatch(/! \S+: \d+ attachment downloads? failed on two runs or more: /);

    firm.emu.clearFaults();
    const pending = pendingByAccount();
    expect([...pending.values()].reduce((total, account) => total + account.rows, 0)).toBe(failed);
    await new Promise((resolve) => setTimeout(resolve, ATTACHMENT_ID_TTL_MS + 200));
    firm.emu.resetCounters();
    const second = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
    expect(second.code, second.stderr).toBe(0);
    const retried = JSON.parse(second.stdout) as { accounts: Array<{ account: string; kind: string; attachmentsStored: number }> };
    expect(retried.accounts.every((account) => account.kind === 'incremental')).toBe(true);
    expect(retried.accounts.reduce((total, account) => total + account.attachmentsStored, 0)).toBe(failed);
    expect(attachmentStatus(firm)).toEqual({ stored: failed });
    // Every stored id had expired: each attachment was refused once and fetched once with a fresh id,
    // and the fresh ids cost one messages.get per message, not one per attachment.
    for (const account of retried.accounts) {
      const expected = pending.get(account.account) ?? { rows: 0, messages: 0 };
      const counters = firm.emu.counters(account.account);
      expect(counters.byMethod['messages.attachments.get']?.calls ?? 0).toBe(2 * expected.rows);
      expect(counters.byMethod['messages.get']?.calls ?? 0).toBe(expected.messages);
    }
  });
});

describe('an attachments folder that cannot be written', () => {
  const blocked = tempDir('crm-mail-attach-blocked-');
  let other: Firm;
  beforeAll(async () => {
    // A regular file where the folder's parent should be: no user, root included, can create it.
    writeFileSync(join(blocked, 'not-a-folder'), '');
    other = await startFirm(blocked, { scenario: { ...SCENARIOS.small, seed: 12, partners: 1 }, env: { CRM_GMAIL_ATTACHMENTS_DIR: join(blocked, 'not-a-folder', 'attachments') } });
    expect((await runCli(['enroll-all'], { env: other.env })).code).toBe(0);
  });
  afterAll(async () => other?.stop());

  it('is checked once before any download: messages are stored, no download is tried, the line and status say why', async () => {
    const sync = await runCli(['sync', '--no-propose'], { env: other.env });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/ ok backfill: listed \d+, stored [1-9]/);
    expect(sync.stdout).toMatch(/\(\d+ attachments? not downloaded: cannot write the attachments folder .*not-a-folder\/attachments \(ENOTDIR on mkdir\): .*; retried next run\)/);
    expect(other.emu.counters().byMethod['messages.attachments.get']?.calls ?? 0).toBe(0);
    const db = other.open();
    const rows = db.prepare('SELECT status, count(*) AS n FROM email_attachments GROUP BY status').all() as Array<{ status: string; n: number }>;
    db.close();
    // Nothing attempted, nothing counted against the rows' retries: they wait, pending.
    expect(rows).toEqual([{ status: 'pending', n: expect.any(Number) }]);

    const status = await runCli(['status'], { env: other.env });
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/! \S+: \d+ attachments? not stored: cannot write the attachments folder .*ENOTDIR/);
    const json = JSON.parse((await runCli(['--json', 'status'], { env: other.env })).stdout) as { accounts: Array<{ alert: boolean; attachmentError: string }> };
    expect(json.accounts[0]).toMatchObject({ alert: true, attachmentError: expect.stringContaining('cannot write the attachments folder') });

    // Folder fixed: the next run stores them all and status is calm again.
    const fixed = { ...other.env, CRM_GMAIL_ATTACHMENTS_DIR: join(blocked, 'attachments') };
    const next = await runCli(['--json', 'sync', '--no-propose'], { env: fixed });
    expect(next.code).toBe(0);
    expect((JSON.parse(next.stdout) as { accounts: Array<{ attachmentsStored: number }> }).accounts[0]!.attachmentsStored).toBeGreaterThan(0);
    expect((await runCli(['status'], { env: fixed })).code).toBe(0);
  });
});
