/**
 * `--verbose` is for the admin debugging a run: on stderr, per account, the path taken, each Gmail
 * method's calls, units, retries and rate-limit answers, quota waits and deferred messages. stdout
 * stays exactly what it is without it (cron logs and --json parsers read it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-verbose-');
let firm: Firm;
let accounts: string[];

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 61, partners: 2, messages: 40 } });
  accounts = firm.scenario.partners.map((partner) => partner.email.toLowerCase());
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

/** Durations and ages change from one run to the next; everything else must not. */
const steady = (text: string): string => text.replace(/\d+(\.\d+)?(ms|s)\b/g, 'T').replace(/\d+m\d\ds/g, 'T');

describe('--verbose', () => {
  it('sync: stderr shows each account path and every Gmail method with calls, units, retries and throttles', async () => {
    // One real failure (retried) and one concurrency refusal (waited out) in the first backfill.
    firm.emu.injectFault({ method: 'messages.list', user: accounts[0], kind: '500', times: 1 });
    firm.emu.injectFault({ method: 'getProfile', user: accounts[1], kind: '429-concurrent', times: 1 });
    const result = await runCli(['--verbose', 'sync', '--no-propose'], { env: firm.env });
    expect(result.code, result.stderr).toBe(0);
    for (const account of accounts) {
      const mine = result.stderr.split('\n').filter((line) => line.startsWith(`${account} `));
      expect(mine, result.stderr).toContain(`${account} path: backfill (backfill ok)`);
      expect(mine.some((line) => /^\S+ gmail users\.getProfile: \d+ calls?, \d+ units?, \d+ retr(y|ies), \d+ throttled$/.test(line)), result.stderr).toBe(true);
      expect(mine.some((line) => /^\S+ gmail messages\.list: \d+ calls?, \d+ units, \d+ retr(y|ies), 0 throttled$/.test(line)), result.stderr).toBe(true);
      expect(mine.some((line) => /^\S+ gmail messages\.get: \d+ calls, \d+ units, 0 retries, 0 throttled$/.test(line)), result.stderr).toBe(true);
      expect(mine.some((line) => /^\S+ gmail total: \d+ calls, \d+ units, \d+ retr(y|ies), \d+ throttled$/.test(line)), result.stderr).toBe(true);
      expect(mine.some((line) => /^\S+ quota: waited \S+ for the account's quota window; \d+ rate-limit answers? waited out$/.test(line)), result.stderr).toBe(true);
      expect(mine, result.stderr).toContain(`${account} deferred: 0 this run; 0 waiting for the next run`);
    }
    // The injected faults are where they happened, method by method.
    expect(result.stderr).toMatch(new RegExp(`^${accounts[0]} gmail messages\\.list: \\d+ calls?, \\d+ units, 1 retry, 0 throttled$`, 'm'));
    expect(result.stderr).toContain(`${accounts[1]} gmail users.getProfile: 2 calls, 1 unit, 0 retries, 1 throttled`); // the throttled call is not charged
    expect(result.stderr).toContain(`${accounts[1]} quota: waited 0ms for the account's quota window; 1 rate-limit answer waited out`);
    // stdout keeps its one line per account.
    expect(result.stdout.trim().split('\n')).toHaveLength(accounts.length);
    expect(result.stdout).not.toContain(' gmail ');
  });

  it('sync: stdout is the same with and without --verbose, and --json stays one document', async () => {
    const plainRun = await runCli(['sync', '--no-propose'], { env: firm.env });
    const verboseRun = await runCli(['--verbose', 'sync', '--no-propose'], { env: firm.env });
    expect(plainRun.stderr).toBe('');
    expect(steady(verboseRun.stdout)).toBe(steady(plainRun.stdout));
    for (const account of accounts) {
      expect(verboseRun.stderr).toContain(`${account} path: incremental (incremental ok)`);
      expect(verboseRun.stderr).toContain(`${account} gmail history.list: 1 call, 2 units, 0 retries, 0 throttled`);
    }
    const json = await runCli(['--verbose', '--json', 'sync', '--no-propose'], { env: firm.env });
    expect(() => JSON.parse(json.stdout)).not.toThrow();
    expect(json.stderr).toContain(`${accounts[0]} gmail history.list: 1 call, 2 units, 0 retries, 0 throttled`);
  });

  it('status: stderr shows each account last run with its per-method figures; stdout unchanged', async () => {
    const plainRun = await runCli(['status'], { env: firm.env });
    const verboseRun = await runCli(['--verbose', 'status'], { env: firm.env });
    expect(verboseRun.code).toBe(plainRun.code);
    expect(plainRun.stderr).toBe('');
    expect(steady(verboseRun.stdout)).toBe(steady(plainRun.stdout));
    for (const account of accounts) {
      expect(verboseRun.stderr).toMatch(new RegExp(`^${account} last run: #\\d+ started \\d{4}-\\d\\d-\\d\\dT\\S+, took \\S+$`, 'm'));
      expect(verboseRun.stderr).toContain(`${account} path: incremental (incremental ok)`);
      expect(verboseRun.stderr).toContain(`${account} gmail history.list: 1 call, 2 units, 0 retries, 0 throttled`);
      expect(verboseRun.stderr).toContain(`${account} deferred now: 0 messages`);
    }
    const json = await runCli(['--verbose', '--json', 'status'], { env: firm.env });
    expect(JSON.parse(json.stdout)).toHaveProperty('accounts');
    expect(json.stderr).toContain(`${accounts[0]} gmail total: 1 call, 2 units, 0 retries, 0 throttled`);
  });
});
