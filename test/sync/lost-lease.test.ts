/**
 * Issue 17 item 6: a sync stalled longer than its lease (here SIGSTOP, with CRM_GMAIL_LEASE_SECONDS=3)
 * loses it to the next sync. The next one says the lease expired (not that the holder had stopped);
 * the stalled one, resumed, notices at its next page boundary, writes nothing more and exits 11.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from './hostileFirm.js';

const dir = tempDir('crm-mail-lostlease-');
let firm: HostileFirm;
const MESSAGES = 10;

const message = (n: number): Buffer =>
  eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, `Subject: Fund III note ${n}`, `Message-ID: <note-${n}@harborview-pension.com>`, `Date: Mon, ${n} Nov 2026 10:00:00 +0000`], `Note ${n}.`);

beforeAll(async () => {
  // Two messages a page, so the backfill commits page after page.
  firm = await startHostileFirm(dir, Array.from({ length: MESSAGES }, (_, i) => ({ raw: message(i + 1) })), { CRM_GMAIL_LEASE_SECONDS: '3', CRM_GMAIL_BACKFILL_PAGE_SIZE: '2' });
});
afterAll(async () => firm?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function count(sql: string): number {
  const db = firm.open();
  try {
    return Number(Object.values(db.prepare(sql).get() as Record<string, unknown>)[0]);
  } finally {
    db.close();
  }
}

describe('a sync that loses its lease', () => {
  it('stops at a page boundary with a clear line and exit 11; the taker says the lease expired', async () => {
    // Slow listing: time between pages to stop the process in.
    firm.emu.injectFault({ method: 'messages.list', kind: 'slow', delayMs: 1200, times: 50 });
    const stalled = spawn(BIN, ['sync', '--no-propose'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...firm.env } });
    let stdout = '';
    let stderr = '';
    stalled.stdout.on('data', (chunk) => (stdout += chunk));
    stalled.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number>((resolve) => stalled.on('close', (code) => resolve(code ?? -1)));
    try {
      const until = Date.now() + 30_000;
      while (count('SELECT count(*) FROM emails') < 2 && Date.now() < until) await sleep(50);
      expect(count('SELECT count(*) FROM emails'), stderr).toBeGreaterThanOrEqual(2);
      stalled.kill('SIGSTOP');
      // The stalled process renews no more: three seconds on, its lease has expired.
      await sleep(4000);
      firm.emu.clearFaults();
      const taker = await firm.cli(['sync', '--no-propose']);
      expect(taker.code, taker.stderr).toBe(0);
      expect(taker.stderr).toContain(`note: took over the lease of pid ${stalled.pid} on `);
      expect(taker.stderr).toMatch(/its lease expired at \S+ without being renewed\. If that sync is still running \(stalled\), it stops at its next page boundary\./);
      expect(taker.stderr).not.toContain('had stopped');
      expect(taker.stderr).toContain('note: 1 interrupted run(s) of the sync whose lease expired were closed');
      expect(taker.stderr).not.toContain('from a stopped process');
    } finally {
      stalled.kill('SIGCONT');
    }
    const code = await exited;
    expect(code, stderr + stdout).toBe(11);
    expect(stderr).toMatch(new RegExp(`stopped: this sync \\(pid ${stalled.pid} on \\S+\\) lost its lease: it was not renewed within 3 s \\(the process was stalled\\) and another sync took it over and has already finished\\. It stopped at a page boundary`));

    // Every message stored once: the stalled run's pages and the taker's add up, none half-written or twice.
    expect(count('SELECT count(*) FROM emails')).toBe(MESSAGES);
    expect(count('SELECT count(DISTINCT gmail_id) FROM emails')).toBe(MESSAGES);
    const db = firm.open();
    const runs = db.prepare('SELECT status, stored, error FROM email_sync_runs ORDER BY id').all() as Array<{ status: string; stored: number; error: string | null }>;
    const account = db.prepare('SELECT history_id AS historyId, backfill_checkpoint AS checkpoint, last_error AS lastError FROM email_accounts').get() as { historyId: string | null; checkpoint: string | null; lastError: string | null };
    db.close();
    expect(runs).toHaveLength(2);
    const [first, second] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(first.status).toBe('partial');
    expect(first.error).toContain('lost its lease');
    expect(second.status).toBe('ok');
    expect(first.stored + second.stored).toBe(MESSAGES);
    // The taker completed the backfill; the stalled run moved no checkpoint after it and left no error on the account.
    expect(account.checkpoint).toBeNull();
    expect(account.historyId).not.toBeNull();
    expect(account.lastError).toBeNull();
  }, 90_000);
});
