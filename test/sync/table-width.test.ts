import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { planColumns, renderTable, lineWidth, type TableColumn } from '../../src/cli/tableFit.js';
import { spawnSync } from 'node:child_process';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-width-');
let firm: Firm;

/** The widest line of a command's stdout. */
function widest(text: string): number {
  return Math.max(...text.split('\n').map((line) => Array.from(line).length));
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 5 } });
  const db = firm.open();
  // A mailbox Google does not know: its row carries a long last error, the widest status cell.
  db.prepare('INSERT INTO users (email, name, is_active) VALUES (?, ?, 1)').run(`ghost.partner.with.a.long.name@${firm.emu.domain}`, 'Ghost Partner');
  db.close();
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  await runCli(['sync', '--no-propose'], { env: firm.env });
  const excluded = await runCli(['exclude', 'add', 'counsel.example.org', '--reason', 'outside counsel for the fund formation'], { env: { ...firm.env, CRM_MAIL_USER: 'admin@northwind.vc' } });
  expect(excluded.code, excluded.stderr).toBe(0);
}, 240_000);
afterAll(async () => firm?.stop());

const TABLES: Array<{ args: string[]; head: string[] }> = [
  { args: ['status'], head: ['account', 'state', 'last success', 'last error', 'cursor age', 'backfill', 'stored', 'matched', 'deferred', 'pending att.', 'last run'] },
  { args: ['accounts'], head: ['account', 'status', 'auth', 'sharing', 'enrolled', 'backfill', 'last success'] },
  { args: ['threads'], head: ['ID', 'Investor', 'Subject', 'Participants', 'Partners', 'Msgs', 'Last activity'] },
  { args: ['threads', '--by-investor'], head: ['ID', 'Investor', 'Conversations', 'Msgs', 'Partners', 'Last activity'] },
  { args: ['messages', '--limit', '20'], head: ['date', 'account', 'dir', 'from', 'subject', 'investors'] },
  { args: ['exclude', 'list'], head: ['pattern', 'kind', 'from', 'reason', 'added by', 'added'] },
];

describe('tables fit 80 columns', () => {
  for (const table of TABLES) {
    it(`${table.args.join(' ')}: no line over 80 columns by default, every column with --wide`, async () => {
      const narrow = await runCli(table.args, { env: firm.env });
      expect(narrow.stderr).not.toContain('unexpected');
      const tableLines = narrow.stdout.split('\n').filter((line) => /^[┌│├└]/.test(line));
      expect(tableLines.length).toBeGreaterThan(2);
      for (const line of tableLines) expect(Array.from(line).length, line).toBeLessThanOrEqual(80);
      const wide = await runCli([...table.args, '--wide'], { env: firm.env });
      expect(wide.code).toBe(narrow.code);
      const header = wide.stdout.split('\n').find((line) => line.startsWith('│'))!;
      for (const head of table.head) expect(header).toContain(` ${head} `);
      expect(wide.stdout).not.toContain('--wide shows every column');
      const hidden = table.head.filter((head) => !narrow.stdout.split('\n').find((line) => line.startsWith('│'))!.includes(` ${head} `));
      if (hidden.length > 0) expect(narrow.stdout.replace(/\n/g, ' ')).toContain(`(${hidden.join(', ')} hidden to fit 80 columns; --wide shows every column)`);
    });
  }

  it('status is about 170 columns wide with --wide and fits 80 without: the lower-priority columns go', async () => {
    const wide = await runCli(['status', '--wide'], { env: firm.env });
    expect(widest(wide.stdout)).toBeGreaterThan(120);
    const narrow = await runCli(['status'], { env: firm.env });
    const header = narrow.stdout.split('\n').find((line) => line.startsWith('│'))!;
    for (const kept of ['account', 'state', 'last success']) expect(header).toContain(kept);
    expect(header).not.toContain('last run');
    expect(narrow.stdout.replace(/\n/g, ' ')).toContain('hidden to fit 80 columns');
  });

  it('follows $COLUMNS in a pipe, and the terminal width on a terminal', async () => {
    const at120 = await runCli(['status'], { env: { ...firm.env, COLUMNS: '120' } });
    const lines = at120.stdout.split('\n').filter((line) => /^[┌│├└]/.test(line));
    expect(Math.max(...lines.map((line) => Array.from(line).length))).toBeLessThanOrEqual(120);
    expect(Math.max(...lines.map((line) => Array.from(line).length))).toBeGreaterThan(80);
    // A real pseudo-terminal of 80 columns (script(1)): investors draws its table only on a terminal.
    const envLine = Object.entries(firm.env).map(([key, value]) => `${key}='${value}'`).join(' ');
    for (const args of ['investors', 'status']) {
      // spawnSync decodes the whole output at once (chunked decoding could split a box-drawing character).
      const tty = spawnSync('script', ['-qec', `stty cols 80 rows 50; env ${envLine} ${BIN} ${args}`, '/dev/null'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
        timeout: 60_000,
      });
      const drawn = tty.stdout.replace(/\r/g, '').split('\n').filter((line) => /[┌│├└]/.test(line));
      expect(drawn.length, tty.stdout).toBeGreaterThan(2);
      // eslint-disable-next-line no-control-regex
      for (const line of drawn) expect(Array.from(line.replace(/\u001b\[[0-9;]*m/g, '')).length, line).toBeLessThanOrEqual(80);
    }
  });
});

describe('planColumns', () => {
  const columns: TableColumn[] = [
    { head: 'a', priority: 0 },
    { head: 'b', priority: 2, minWidth: 5 },
    { head: 'c', priority: 1, minWidth: 10 },
    { head: 'd', priority: 3 },
  ];
  it('hides the highest priority number first, then narrows the widest narrowable column', () => {
    expect(planColumns(columns, [10, 30, 30, 10], undefined)).toEqual({ shown: [0, 1, 2, 3], widths: [10, 30, 30, 10] });
    const fit = planColumns(columns, [10, 30, 30, 10], 60);
    expect(fit.shown).toEqual([0, 1, 2, 3]);
    expect(lineWidth(fit.widths)).toBeLessThanOrEqual(60);
    const tight = planColumns(columns, [10, 30, 30, 10], 40);
    expect(tight.shown).toEqual([0, 1, 2]);
    expect(lineWidth(tight.widths)).toBeLessThanOrEqual(40);
    expect(planColumns(columns, [10, 30, 30, 10], 30).shown).toEqual([0, 2]);
    expect(planColumns(columns, [10, 30, 30, 10], 20).shown).toEqual([0]);
  });
  it('never hides a priority-0 column and names the hidden ones under the table', () => {
    const text = renderTable(columns, [['x'.repeat(10), 'y'.repeat(30), 'z'.repeat(30), 'w'.repeat(10)]], { maxWidth: 40, color: false });
    expect(text.replace(/\n/g, ' ')).toContain('(d hidden to fit 40 columns; --wide shows every column)');
    for (const line of text.split('\n')) expect(Array.from(line).length).toBeLessThanOrEqual(40);
    // A column with nothing in it goes before a lower-ranked one that has something.
    const blank = renderTable(columns, [['x'.repeat(10), '-', 'z'.repeat(30), 'w'.repeat(10)]], { maxWidth: 40, color: false });
    expect(blank.replace(/\n/g, ' ')).toContain('(b hidden to fit 40 columns');
    expect(blank).toContain('w'.repeat(10));
  });
});
