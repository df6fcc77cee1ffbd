import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

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

function attachmentStatus(): Record<string, number> {
  const db = firm.open();
  try {
    const rows = db.prepare('SELECT status, count(*) AS n FROM email_attachments GROUP BY status').all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
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
    const summary = JSON.parse(first.stdout) as { accounts: Array<{ status: string; attachmentsStored: number; details: { attachmentsFailed?: number } }> };
    expect(summary.accounts.every((account) => account.status === 'ok' && account.attachmentsStored === 0)).toBe(true);
    const failed = summary.accounts.reduce((total, account) => total + (account.details.attachmentsFailed ?? 0), 0);
    expect(failed).toBeGreaterThan(0);
    expect(attachmentStatus()).toEqual({ failed });
    const status = JSON.parse((await runCli(['--json', 'status'], { env: firm.env })).stdout) as { accounts: Array<{ failedAttachments: number }> };
    expect(status.accounts.reduce((total, account) => total + account.failedAttachments, 0)).toBe(failed);

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
    expect(attachmentStatus()).toEqual({ stored: failed });
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
