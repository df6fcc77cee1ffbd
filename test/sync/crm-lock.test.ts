/**
 * Issue 17 item 5: the CRM's own writes hold the file's write lock (rollback journal) for longer than
 * SQLite's busy timeout. A sync waits that out (each transaction retried with backoff, the journal
 * mode left alone), and when the lock outlasts its wait it fails with the typed error (exit 10), the
 * run recorded and the cursor kept.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { holdCrmLock } from './crmLock.js';
import { ANN, JANE, eml, startHostileFirm, type HostileFirm } from './hostileFirm.js';

const dir = tempDir('crm-mail-crmlock-');
let firm: HostileFirm;
/** Longer than SQLite's default busy timeout (5 s), which was all a sync waited before. */
const HOLD_MS = 6500;
const LOCK_ENV = { CRM_GMAIL_DB_BUSY_TIMEOUT_MS: '1000', CRM_GMAIL_DB_LOCK_WAIT_SEC: '30' };

const message = (n: number): Buffer =>
  eml([`From: Ann Lee <${ANN}>`, `To: ${JANE}`, `Subject: Fund III update ${n}`, `Message-ID: <update-${n}@harborview-pension.com>`, `Date: Mon, ${n} Nov 2026 10:00:00 +0000`], `Update number ${n}.`);

beforeAll(async () => {
  firm = await startHostileFirm(dir, [1, 2, 3].map((n) => ({ raw: message(n) })), LOCK_ENV);
});
afterAll(async () => firm?.stop());

function stored(): number {
  const db = firm.open();
  try {
    return (db.prepare('SELECT count(*) AS n FROM emails').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function account(): { historyId: string | null; lastError: string | null } {
  const db = firm.open();
  try {
    return db.prepare('SELECT history_id AS historyId, last_error AS lastError FROM email_accounts').get() as { historyId: string | null; lastError: string | null };
  } finally {
    db.close();
  }
}

describe('the CRM holding its write lock', () => {
  it('mid-run, longer than the busy timeout: the page waits for it and the backfill stores everything', async () => {
    // Listing is slow, so the lock is taken after the checkpoint is written and before the page commits.
    firm.emu.injectFault({ method: 'messages.list', kind: 'slow', delayMs: 1500 });
    const holder = holdCrmLock(firm.dbPath, { holdMs: HOLD_MS, when: 'SELECT count(*) FROM email_accounts WHERE backfill_checkpoint IS NOT NULL' });
    const sync = await firm.cli(['sync', '--no-propose']);
    await holder.done;
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toMatch(/note: the CRM database .*crm\.db is locked by another writer \(the CRM\); storing a page of jane@northwind\.vc waits for it \(up to 30 s\)\./);
    expect(stored()).toBe(3);
  }, 60_000);

  it('at the start of a run, longer than the busy timeout: the sync waits, exits 0 and stores the new mail', async () => {
    firm.emu.addMessage(JANE, message(4));
    firm.emu.addMessage(JANE, message(5));
    const holder = holdCrmLock(firm.dbPath, { holdMs: HOLD_MS });
    await holder.locked;
    const sync = await firm.cli(['sync', '--no-propose']);
    await holder.done;
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toContain('taking the sync lease waits for it');
    expect(sync.stdout).toMatch(/ok incremental/);
    expect(stored()).toBe(5);
  }, 60_000);

  it('longer than the lock wait: typed error, exit 10, the run recorded, the cursor kept', async () => {
    firm.emu.addMessage(JANE, message(6));
    const before = account();
    const holder = holdCrmLock(firm.dbPath);
    await holder.locked;
    const child = spawn(BIN, ['sync', '--no-propose'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...firm.env, CRM_GMAIL_DB_LOCK_WAIT_SEC: '2', CRM_GMAIL_DB_BUSY_TIMEOUT_MS: '200' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const gaveUp = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        // The sync gave up; the CRM finishes its write, and the failed run can be recorded.
        if (stderr.includes('Recording the failed run(s) once the lock is released')) resolve();
      }),
    );
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await Promise.race([gaveUp, exited]);
    holder.release();
    await holder.done;
    const code = await exited;
    expect(code, stderr).toBe(10);
    expect(stdout).toMatch(/jane@northwind\.vc.*the CRM database .*crm\.db is locked by another writer \(the CRM, most likely, holds its write lock\): taking the sync lease was not written after \d+\.\d s of retries/);
    const db = firm.open();
    const run = db.prepare('SELECT status, error, details FROM email_sync_runs ORDER BY id DESC LIMIT 1').get() as { status: string; error: string; details: string };
    db.close();
    expect(run.status).toBe('error');
    expect(run.error).toContain('is locked by another writer');
    expect(JSON.parse(run.details)).toEqual({ path: 'not started: the CRM database was locked' });
    expect(account().historyId).toBe(before.historyId);
    expect(account().lastError).toContain('is locked by another writer');
    expect(stored()).toBe(5);

    // The lock gone, the next run resumes from the kept cursor.
    const next = await firm.cli(['sync', '--no-propose']);
    expect(next.code, next.stderr).toBe(0);
    expect(stored()).toBe(6);
  }, 60_000);
});
