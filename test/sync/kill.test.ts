import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { Random } from '../../src/emulator/random.js';
import { openDatabase } from '../../src/db/open.js';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { migratedDb } from './db.js';
import { FetchLog } from './fetchLog.js';
import { expectedCapture, plain, startFirm, storedCapture, type Firm } from './firm.js';
import { capturedState, committedCopies } from './state.js';
import { insertCrmFixture } from '../../src/db/crm.js';

const dir = tempDir('crm-mail-kill-');
let firm: Firm;
let proxy: FetchLog;
let env: Record<string, string>;

// Kill points come from a seeded generator, so a failing run can be repeated (the seed is in the test name).
const SEED = Number(process.env.CRM_MAIL_KILL_SEED ?? 20261129);

function rowCount(dbPath: string): number {
  const db = openDatabase(dbPath, { mustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM emails').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function copiesIn(dbPath: string): Set<string> {
  const db = openDatabase(dbPath, { mustExist: true });
  try {
    return committedCopies(db);
  } finally {
    db.close();
  }
}

function backfillDone(dbPath: string): boolean {
  const db = openDatabase(dbPath, { mustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM email_accounts WHERE backfill_completed_at IS NULL').get() as { n: number }).n === 0;
  } finally {
    db.close();
  }
}

/** Starts a sync and SIGKILLs it when `shouldKill` says so; resolves with whether it was killed before exiting. */
function syncAndKill(shouldKill: () => boolean): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['sync', '--no-propose'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stderr = '';
    let exited = false;
    let killed = false;
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.resume();
    const timer = setInterval(() => {
      if (exited || killed) return;
      if (shouldKill()) {
        killed = child.kill('SIGKILL');
      }
    }, 25);
    child.on('error', reject);
    child.on('exit', (code) => {
      exited = true;
      clearInterval(timer);
      resolve({ killed, code, stderr });
    });
  });
}

beforeAll(async () => {
  // Latency per call stretches the backfill (one get per stored message) over several seconds, so ten kills land inside it.
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 31 }, emulator: { latencyMs: 100 } });
  proxy = await new FetchLog(firm.emu.rootUrl).start();
  env = {
    ...firm.env,
    CRM_GMAIL_API_ROOT: proxy.url,
    CRM_GMAIL_TOKEN_URL: `${proxy.url}token`,
    // Small pages: many commits, so the kills land between and inside them.
    CRM_GMAIL_BACKFILL_PAGE_SIZE: '3',
  };
  expect((await runCli(['enroll-all'], { env })).code).toBe(0);
});
afterAll(async () => {
  await proxy?.stop();
  await firm?.stop();
});

describe('a backfill killed at random moments', () => {
  it(`resumes to the same final state and never refetches a committed message (seed ${SEED})`, async () => {
    // The reference: the same firm synced once without interruption, into its own file.
    const referencePath = join(dir, 'reference.db');
    const reference = await migratedDb(referencePath);
    insertCrmFixture(reference, {
      users: firm.scenario.partners.map((partner) => ({ email: partner.email, name: partner.name })),
      investors: firm.scenario.investors.map((investor) => ({ id: investor.id, name: investor.name, email: investor.emailCell, firm: investor.firm })),
    });
    reference.close();
    const referenceEnv = { ...firm.env, CRM_DB_PATH: referencePath, CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'reference-attachments') };
    expect((await runCli(['enroll-all'], { env: referenceEnv })).code).toBe(0);
    const clean = await runCli(['sync', '--no-propose'], { env: referenceEnv });
    expect(clean.code, clean.stderr).toBe(0);

    const random = new Random(SEED);
    let interrupted = 0;
    let refetched: string[] = [];
    let fetchesSeen = 0;
    for (let kill = 0; kill < 10; kill++) {
      const committedBefore = copiesIn(firm.dbPath);
      const rowsBefore = committedBefore.size;
      // Half the kills at a random time after the run's first request to Gmail (token, listing, fetching,
      // parsing, committing), half after a random number of further committed messages.
      const byTime = random.next() < 0.5;
      const afterMs = Math.floor(random.next() * 600);
      const afterRows = 1 + Math.floor(random.next() * 10);
      proxy.reset();
      const outcome = await syncAndKill(() =>
        byTime ? proxy.firstRequestAt !== undefined && Date.now() - proxy.firstRequestAt >= afterMs : rowCount(firm.dbPath) >= rowsBefore + afterRows,
      );
      fetchesSeen += proxy.records.length;
      expect(proxy.records.filter((record) => record.user === 'unknown')).toEqual([]);
      // Nothing committed before this run was fetched again by it.
      refetched = refetched.concat(proxy.records.filter((record) => committedBefore.has(`${record.user}|${record.id}`)).map((record) => `${record.user}|${record.id} (${record.format})`));
      if (outcome.killed && !backfillDone(firm.dbPath)) interrupted += 1;
      console.log(`kill ${kill + 1}: ${byTime ? `${afterMs} ms after its first request` : `after ${afterRows} more rows`}: killed=${outcome.killed}, rows ${rowsBefore} -> ${rowCount(firm.dbPath)}, fetches ${proxy.records.length} ${outcome.stderr.slice(0, 300)}`);
    }
    const committedBefore = copiesIn(firm.dbPath);
    proxy.reset();
    const last = await runCli(['sync', '--no-propose'], { env });
    expect(last.code, last.stderr + last.stdout).toBe(0);
    fetchesSeen += proxy.records.length;
    refetched = refetched.concat(proxy.records.filter((record) => committedBefore.has(`${record.user}|${record.id}`)).map((record) => `${record.user}|${record.id} (${record.format})`));

    // The log really saw the fetches (single requests or batch parts), and knew whose they were.
    expect(fetchesSeen).toBeGreaterThan(100);
    expect(refetched).toEqual([]);
    expect(interrupted).toBeGreaterThanOrEqual(8);

    const killedDb = openDatabase(firm.dbPath);
    const referenceDb = openDatabase(referencePath);
    try {
      expect(capturedState(killedDb)).toEqual(capturedState(referenceDb));
      const stored = storedCapture(killedDb);
      expect(stored.duplicates).toBe(0);
      expect(plain(stored.byAccount)).toEqual(plain(expectedCapture(firm.scenario)));
      // Every run row is closed: the killed ones as interrupted, none left 'running'.
      const running = killedDb.prepare("SELECT count(*) AS n FROM email_sync_runs WHERE status = 'running'").get() as { n: number };
      expect(running.n).toBe(0);
    } finally {
      killedDb.close();
      referenceDb.close();
    }
  });
});
