import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-attach-');
let firm: Firm;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 12, partners: 2 } });
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

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
  it('are downloaded after the messages; a failed download does not fail the run and is retried by the next one', async () => {
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
    const second = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
    expect(second.code).toBe(0);
    const retried = JSON.parse(second.stdout) as { accounts: Array<{ kind: string; attachmentsStored: number }> };
    expect(retried.accounts.every((account) => account.kind === 'incremental')).toBe(true);
    expect(retried.accounts.reduce((total, account) => total + account.attachmentsStored, 0)).toBe(failed);
    expect(attachmentStatus()).toEqual({ stored: failed });
  });
});
