/**
 * Sync engine benchmark: the backfill of a generated firm (default the medium scenario: 5 partners,
 * 50 investors, 5,000 mailbox copies) through the real CLI, against the emulator's per-user quota
 * (default 250 units/s, Gmail's), then an incremental run with no new mail. Reports wall time, calls,
 * units per stored message and the share of the quota ceiling used. Loopback only.
 *
 *   npm run build && node dist/bench/sync.js [--scenario medium] [--quota 250] [--rate 150] [--concurrency 5] [--profile DIR] [--json]
 *
 * --quota is the emulator's limit per mailbox; --rate is crm-mail's own CRM_GMAIL_RATE_UNITS_SEC.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crmMailSettings, generateScenario, SCENARIOS, startEmulator } from '../src/emulator/index.js';
import { insertCrmFixture } from '../src/db/crm.js';
import { migrate } from '../src/db/migrate.js';
import { openDatabase } from '../src/db/open.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'crm-mail.js');

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

function run(args: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started }));
  });
}

interface AccountFigures {
  account: string;
  status: string;
  stored: number;
  apiCalls: number;
  apiUnits: number;
  durationMs: number;
}

export interface SyncFigures {
  scenario: string;
  emulatorQuotaUnitsPerSec: number;
  clientRateUnitsPerSec: number;
  accounts: number;
  accountConcurrency: number;
  backfill: {
    wallSeconds: number;
    stored: number;
    calls: number;
    units: number;
    unitsPerStoredMessage: number;
    /** Units spent per second of each account's own run, over the emulator's per-user ceiling (mean of accounts). */
    meanShareOfCeilingPerAccount: number;
    emulatorRefused: number;
    perAccount: AccountFigures[];
  };
  incrementalNoop: { wallSeconds: number; calls: number; units: number; processMs: number };
}

async function main(): Promise<void> {
  const name = arg('scenario', 'medium') as keyof typeof SCENARIOS;
  const quota = Number(arg('quota', '250'));
  const rate = arg('rate', '150');
  const concurrency = arg('concurrency', '5');
  const scenario = generateScenario({ ...SCENARIOS[name] });
  const emu = await startEmulator({ scenario, quotaUnitsPerSec: quota });
  const dir = mkdtempSync(join(tmpdir(), 'crm-mail-bench-sync-'));
  try {
    const dbPath = join(dir, 'crm.db');
    const db = openDatabase(dbPath);
    await migrate(db, { dbPath, backup: false, dryRun: false });
    insertCrmFixture(db, {
      users: scenario.partners.map((partner) => ({ email: partner.email, name: partner.name })),
      investors: scenario.investors.map((investor) => ({ id: investor.id, name: investor.name, email: investor.emailCell, firm: investor.firm })),
    });
    db.close();
    const env = {
      CRM_DB_PATH: dbPath,
      ...crmMailSettings(emu),
      CRM_GMAIL_RATE_UNITS_SEC: rate,
      CRM_GMAIL_ACCOUNT_CONCURRENCY: concurrency,
      CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'attachments'),
      NO_PROXY: '127.0.0.1,localhost',
    };
    const enrolled = await run(['enroll-all'], env);
    if (enrolled.code !== 0) throw new Error(`enroll-all failed: ${enrolled.stderr}`);

    // --profile DIR: a V8 CPU profile of the backfill process, for `node --cpu-prof` tooling.
    const profileDir = arg('profile', '');
    const backfill = await run(['--json', 'sync', '--no-propose'], env, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    if (backfill.code !== 0) throw new Error(`backfill failed (${backfill.code}): ${backfill.stderr}${backfill.stdout}`);
    const summary = JSON.parse(backfill.stdout) as { accounts: AccountFigures[] };
    const refused = emu.counters().refused;
    const noop = await run(['--json', 'sync', '--no-propose'], env);
    if (noop.code !== 0) throw new Error(`incremental failed: ${noop.stderr}`);
    const noopSummary = JSON.parse(noop.stdout) as { accounts: AccountFigures[] };

    const sum = (list: AccountFigures[], key: 'stored' | 'apiCalls' | 'apiUnits'): number => list.reduce((total, item) => total + item[key], 0);
    const stored = sum(summary.accounts, 'stored');
    const units = sum(summary.accounts, 'apiUnits');
    const shares = summary.accounts.map((item) => item.apiUnits / (item.durationMs / 1000) / quota);
    const figures: SyncFigures = {
      scenario: name,
      emulatorQuotaUnitsPerSec: quota,
      clientRateUnitsPerSec: Number(rate),
      accounts: summary.accounts.length,
      accountConcurrency: Number(concurrency),
      backfill: {
        wallSeconds: round(backfill.ms / 1000),
        stored,
        calls: sum(summary.accounts, 'apiCalls'),
        units,
        unitsPerStoredMessage: round(units / Math.max(1, stored)),
        meanShareOfCeilingPerAccount: round(shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length)),
        emulatorRefused: refused,
        perAccount: summary.accounts.map((item) => ({ account: item.account, status: item.status, stored: item.stored, apiCalls: item.apiCalls, apiUnits: item.apiUnits, durationMs: item.durationMs })),
      },
      incrementalNoop: {
        wallSeconds: round(noop.ms / 1000),
        calls: sum(noopSummary.accounts, 'apiCalls'),
        units: sum(noopSummary.accounts, 'apiUnits'),
        processMs: Math.round(noop.ms),
      },
    };
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify(figures) + '\n');
    } else {
      const b = figures.backfill;
      process.stdout.write(
        `sync backfill (${name}: ${figures.accounts} mailboxes, emulator quota ${quota} units/s per mailbox, crm-mail rate ${rate}, ${concurrency} at once)\n` +
          `  wall ${b.wallSeconds}s, stored ${b.stored}, ${b.calls} calls, ${b.units} units = ${b.unitsPerStoredMessage} units per stored message\n` +
          `  quota ceiling used per mailbox: ${(b.meanShareOfCeilingPerAccount * 100).toFixed(1)}% (mean), emulator refusals ${b.emulatorRefused}\n` +
          b.perAccount.map((item) => `    ${item.account}: stored ${item.stored}, ${item.apiCalls} calls, ${item.apiUnits} units, ${(item.durationMs / 1000).toFixed(1)}s\n`).join('') +
          `incremental with no new mail: ${figures.incrementalNoop.calls} calls, ${figures.incrementalNoop.units} units, whole process ${figures.incrementalNoop.wallSeconds}s\n`,
      );
    }
  } finally {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
