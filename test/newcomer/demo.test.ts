import { beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN, PROJECT_ROOT, runClean, runCli, type CliResult, unstamped } from '../helpers/cli.js';
import { crmMailCommand } from '../../src/demo/run-demo.js';
import { tempDir } from '../helpers/tmp.js';
import { writeTinyModel } from '../../src/activity/tinyModel.js';

const DEMO = join(PROJECT_ROOT, 'dist', 'src', 'demo', 'run-demo.js');
const root = tempDir('crm-mail-demo-');
const dir = join(root, 'demo');

/** A PATH with node and the system's tools but no crm-mail (as after a plain `npm ci`). */
const PATH_WITHOUT_CRM_MAIL = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');

/** The compiled demo as `npm run demo` runs it, with a clean environment plus `env`. */
function runDemo(env: Record<string, string> = {}): Promise<CliResult> {
  return runClean(process.execPath, [DEMO, '--dir', dir], { cwd: root, env: { PATH: PATH_WITHOUT_CRM_MAIL, ...env } });
}

/** How the demo names its steps: the package's bin by absolute path (crm-mail is not on PATH) and the absolute database. */
const STEP = `${BIN} --db ${join(dir, 'crm.db')}`;

// The demo's output is a pipe here: the crm-mail lines in it are dated, as in a log.
const stripAnsi = (text: string): string => unstamped(text.replace(/\u001b\[[0-9;]*m/g, ''));
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Proposal {
  message_key: string;
  message_date_ms: number;
  status: string;
  drafter: string;
}

function readDemoDb(): { cutoffMs: number; proposals: Proposal[]; partners: string[] } {
  const db = new Database(join(dir, 'crm.db'), { readonly: true });
  try {
    const cutoff = (db.prepare("SELECT value FROM app_settings WHERE key = 'email_activity_since'").get() as { value: string }).value;
    const proposals = db.prepare('SELECT message_key, message_date_ms, status, drafter FROM email_activity_proposals ORDER BY id').all() as Proposal[];
    const partners = (db.prepare('SELECT email FROM email_accounts ORDER BY email').all() as Array<{ email: string }>).map((row) => row.email);
    return { cutoffMs: Date.parse(cutoff), proposals, partners };
  } finally {
    db.close();
  }
}

let first: CliResult;

beforeAll(async () => {
  // A caller's own settings must not leak into the demo (it would sync into their CRM).
  first = await runDemo({ CRM_DB_PATH: join(root, 'somebody-elses-crm.db'), CRM_GMAIL_INTEGRATION_ENABLED: 'false' });
});

describe('npm run demo', () => {
  it('runs the real commands in order and ends with the commands to continue', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const out = stripAnsi(first.stdout);
    expect(out).toContain('Drafting notes with the rule drafter: CRM_MAIL_MODEL is not set');
    const order = ['migrate', 'enroll-all', 'sync', 'sync', 'propose', 'status', 'threads --by-investor', 'threads --limit 8', 'review list'];
    let position = 0;
    for (const command of order) {
      const found = out.indexOf(`$ ${STEP} ${command}`, position);
      expect(found, command).toBeGreaterThan(position - 1);
      position = found + 1;
    }
    expect(out).toContain(`  ${BIN} review --db ${join(dir, 'crm.db')} --as `);
    expect(out).toContain(`  ${BIN} threads --db ${join(dir, 'crm.db')} --investor "`);
    expect(out).toMatch(new RegExp(`  ${escape(BIN)} --env-file ${escape(join(dir, '.env.demo'))} thread \\d+\n`));
    expect(out).not.toContain('npx crm-mail');
    expect(out).toContain('crm-mail is not on PATH; to install it: npm pack, then npm install -g');
    expect(existsSync(join(root, 'somebody-elses-crm.db'))).toBe(false);
    expect(existsSync(join(dir, '.env.demo'))).toBe(true);
  });

  it('shows every partner OK in the status table', () => {
    const { partners } = readDemoDb();
    expect(partners).toHaveLength(3);
    const status = stripAnsi(first.stdout).split(`$ ${STEP} status`)[1]!.split('\n$ ')[0]!;
    for (const partner of partners) {
      const row = status.split('\n').find((line) => line.includes(partner));
      expect(row, partner).toMatch(new RegExp(`│ ${partner.replace('.', '\\.')}\\s+│ ok\\s+│`));
    }
    expect(status).toContain('no alerts (3 accounts');
  });

  it('captures at least one conversation that spans two partners\u2019 mailboxes', async () => {
    const result = await runCli(['--json', 'threads', '--db', join(dir, 'crm.db'), '--limit', '500']);
    expect(result.code).toBe(0);
    const threads = (JSON.parse(result.stdout) as { threads: Array<{ id: number; subject: string; bulk: boolean; partners: Array<{ address: string }>; investors: unknown[] }> }).threads;
    expect(threads.length).toBeGreaterThan(10);
    expect(threads.some((thread) => thread.partners.length >= 2)).toBe(true);
    // The data-room letter of the demo went from one partner to an investor with another partner in CC.
    expect(threads.find((thread) => thread.subject === 'Fund III data room access')?.partners).toHaveLength(2);
    // The investor's newsletter is captured, and marked as bulk.
    expect(threads.find((thread) => /Insights: private markets/.test(thread.subject))?.bulk).toBe(true);
    expect(threads.every((thread) => thread.investors.length > 0)).toBe(true);
  });

  it('has pending proposals only for the mail that arrived after the cutoff, one per message and investor', () => {
    const { cutoffMs, proposals } = readDemoDb();
    expect(proposals.length).toBe(3);
    for (const proposal of proposals) {
      expect(proposal.status).toBe('pending');
      expect(proposal.message_date_ms).toBeGreaterThanOrEqual(cutoffMs);
      expect(proposal.message_key).toMatch(/^demo-(second-close|data-room|angel-reply)-/);
      expect(proposal.drafter).toBe('rule');
    }
    expect(new Set(proposals.map((proposal) => proposal.message_key)).size).toBe(3);
    const pending = stripAnsi(first.stdout).split(`$ ${STEP} review list`)[1]!;
    expect(pending.match(/^#\d+\s+pending/gm)).toHaveLength(3);
  });

  it('prints commands to continue that work from any folder', async () => {
    const elsewhere = tempDir('crm-mail-demo-elsewhere-');
    const commands = stripAnsi(first.stdout).split('(from any folder):\n')[1]!.split('\n').filter((line) => line.startsWith(`  ${BIN} `)).map((line) => line.trim());
    expect(commands).toHaveLength(4);
    for (const command of commands.filter((line) => !line.includes(' review '))) {
      const result = await runClean('sh', ['-c', command], { cwd: elsewhere, env: { PATH: PATH_WITHOUT_CRM_MAIL } });
      expect(result.stderr, command).not.toMatch(/cannot open|unexpected|not built/);
      if (!command.endsWith(' doctor')) expect(result.code, `${command}\n${result.stderr}`).toBe(0);
      expect(result.stdout.length, command).toBeGreaterThan(0);
    }
    expect(existsSync(join(elsewhere, 'data'))).toBe(false);
  });

  it('names crm-mail bare when it is on PATH, else by the absolute path of its bin', () => {
    const bin = tempDir('crm-mail-path-');
    expect(crmMailCommand(`${bin}:/usr/bin`, '/opt/crm mail/bin/crm-mail')).toBe("'/opt/crm mail/bin/crm-mail'");
    mkdirSync(join(bin, 'sub'));
    writeFileSync(join(bin, 'crm-mail'), '#!/bin/sh\n');
    expect(crmMailCommand(`${bin}:/usr/bin`, BIN)).toBe(BIN); // there but not executable
    chmodSync(join(bin, 'crm-mail'), 0o755);
    expect(crmMailCommand(`/nowhere:${bin}`, BIN)).toBe('crm-mail');
  });

  it('starts clean when run again, and drafts with the local model when CRM_MAIL_MODEL is set', async () => {
    writeFileSync(join(dir, 'left-over.txt'), 'from an earlier run');
    const model = join(root, 'tiny.gguf');
    writeTinyModel(model);
    const again = await runDemo({ CRM_MAIL_MODEL: model, CRM_MAIL_MODEL_THREADS: '1' });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Drafting notes with the local model ${model}`);
    expect(existsSync(join(dir, 'left-over.txt'))).toBe(false);
    const { proposals } = readDemoDb();
    expect(proposals).toHaveLength(3);
    expect(proposals.every((proposal) => proposal.drafter === 'llama')).toBe(true);
  });
});
