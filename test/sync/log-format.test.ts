/**
 * Under cron (stdout and stderr are files) every line says when it was written: the UTC time in
 * ISO 8601 and a space, then the line as a terminal shows it. --json documents are never dated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS } from '../../src/emulator/index.js';
import { PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const DATED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z /;
const dir = tempDir('crm-mail-log-format-');
let firm: Firm;
let ghost: string;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 81, partners: 2, messages: 30 } });
  // A user the mailbox server does not know: its account fails, so sync has an error line too.
  ghost = `ghost@${firm.emu.domain}`;
  const db = firm.open();
  db.prepare('INSERT INTO users (email, name, is_active) VALUES (?, ?, 1)').run(ghost, 'Ghost Partner');
  db.close();
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

/** Every non-empty line is dated, with a time of this run (not a fixed or local one). */
function expectDated(text: string, startedAt: number): void {
  expect(lines(text).length).toBeGreaterThan(0);
  for (const line of lines(text)) {
    expect(line).toMatch(DATED);
    const at = Date.parse(line.slice(0, line.indexOf(' ')));
    expect(at).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
  }
}

describe('the log format off a terminal', () => {
  it('sync: each account line, the propose line and the failing account are dated', async () => {
    const startedAt = Date.now();
    const result = await runCli(['sync'], { env: firm.env });
    expect(result.code).toBe(4);
    expectDated(result.raw.stdout, startedAt);
    // After the date, the line is what a terminal shows.
    expect(lines(result.raw.stdout).map((line) => line.replace(DATED, ''))).toEqual(lines(result.stdout));
    expect(result.stdout).toMatch(new RegExp(`^${ghost} error backfill: `, 'm'));
    expect(result.stdout).toContain('propose: ');
  });

  it('sync --quiet and --verbose: the stderr lines are dated too', async () => {
    const startedAt = Date.now();
    const quiet = await runCli(['--quiet', 'sync'], { env: firm.env });
    expect(quiet.raw.stdout).toBe('');
    expectDated(quiet.raw.stderr, startedAt);
    expect(quiet.stderr).toMatch(new RegExp(`^error: ${ghost} error `, 'm'));
    const verbose = await runCli(['--verbose', 'sync', '--no-propose'], { env: firm.env });
    expectDated(verbose.raw.stderr, startedAt);
    expect(verbose.stderr).toMatch(/ gmail history\.list: 1 call, 2 units/);
  });

  it('status (a table) and an error are dated line by line', async () => {
    const startedAt = Date.now();
    const status = await runCli(['status'], { env: firm.env });
    expect(status.code).toBe(1);
    expectDated(status.raw.stdout, startedAt);
    expect(status.stdout).toMatch(new RegExp(`^! ${ghost}: last (\\d+ )?runs? failed`, 'm'));
    const missing = await runCli(['--db', join(dir, 'typo.db'), 'status']);
    expect(missing.code).toBe(2);
    expectDated(missing.raw.stderr, startedAt);
    expect(missing.stderr).toMatch(/^crm-mail: cannot open the CRM database /m);
    const unknown = await runCli(['frobnicate']);
    expectDated(unknown.raw.stderr, startedAt);
  });

  it('--json documents are not dated', async () => {
    const result = await runCli(['--json', 'status'], { env: firm.env });
    expect(result.raw.stdout).toMatch(/^\{/);
    expect(JSON.parse(result.raw.stdout)).toHaveProperty('accounts');
    const failed = await runCli(['--json', '--db', join(dir, 'typo.db'), 'status']);
    expect(JSON.parse(failed.raw.stdout)).toHaveProperty('error');
  });

  it('crontab.example creates the log folder and rotates every log its lines write', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'crontab.example'), 'utf8');
    expect(text).toMatch(/^#\s+sudo install -d -o \S+ -g \S+ -m 750 \/var\/log\/crm-mail$/m);
    const block = text.match(/^#\s+(\/var\/log\/crm-mail\/\S+) \{\n((?:#.*\n)*?)#\s+\}$/m);
    expect(block, 'a logrotate block').not.toBeNull();
    const pattern = new RegExp('^' + block![1]!.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]+') + '$');
    const logs = [...text.matchAll(/^[^#].*>> (\S+) 2>&1/gm)].map((match) => match[1]!);
    expect(logs.length).toBeGreaterThanOrEqual(3);
    for (const log of logs) expect(log, 'rotated by the snippet').toMatch(pattern);
    for (const directive of ['su ', 'rotate ', 'compress', 'missingok', 'create ']) expect(block![2]).toContain(directive);
  });
});
