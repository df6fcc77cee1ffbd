/**
 * `--json` means exactly one JSON document on stdout, whatever the command and however it ends: a
 * script pipes it to jq or JSON.parse, and a second document, a stray human line or nothing at all
 * breaks it. One table of every command, success paths and the failures that are cheap to reach
 * (usage, not found, conflict, integration off, a bad --db, commander's own parse errors).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { BIN, PROJECT_ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-json-');
let firm: Firm;
let partner: string;
let investorId: number;
let threadId: number;
let proposals: number[];
const eml = join(dir, 'one.eml');

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 71, partners: 2, messages: 40 }, env: { CRM_MAIL_DRAFTER: 'rule' } });
  partner = firm.scenario.partners[0]!.email.toLowerCase();
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  const synced = await runCli(['sync'], { env: firm.env });
  expect(synced.code, synced.stderr).toBe(0);
  // The first run sets the cutoff: two investor messages after it make two proposals.
  const institution = firm.scenario.investors.find((item) => item.domains.length > 0)!;
  for (const n of [1, 2]) {
    const raw = [`From: ${institution.contacts[0]}`, `To: ${partner}`, `Subject: Update ${n}`, `Date: ${new Date(firm.emu.now()).toUTCString()}`, `Message-ID: <json-${n}-${firm.emu.now()}@lp.example>`, '', `News number ${n}.`, ''].join('\r\n');
    firm.emu.addMessage(partner, Buffer.from(raw), { labelIds: ['INBOX'] });
  }
  const again = await runCli(['sync'], { env: firm.env });
  expect(again.code, again.stderr).toBe(0);
  const db = firm.open();
  investorId = (db.prepare('SELECT investor_id AS id FROM email_investor_matches LIMIT 1').get() as { id: number }).id;
  threadId = (db.prepare('SELECT id FROM email_threads WHERE merged_into IS NULL LIMIT 1').get() as { id: number }).id;
  proposals = (db.prepare("SELECT id FROM email_activity_proposals WHERE status = 'pending' ORDER BY id LIMIT 2").all() as Array<{ id: number }>).map((row) => row.id);
  db.close();
  expect(proposals).toHaveLength(2);
  writeFileSync(eml, ['From: Ann <ann@example.com>', 'To: jane@northwind.vc', 'Subject: hello', 'Message-ID: <one@example.com>', '', 'Hi.', ''].join('\r\n'));
}, 180_000);
afterAll(async () => firm?.stop());

/** The emulator runs until stopped: stop it once its ready document is out. */
function runEmulatorUntilReady(): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['--json', 'emulator', '--scenario', 'small'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Exactly one JSON value: JSON.parse refuses two documents, trailing text, and an empty stdout. */
function oneDocument(result: CliResult): unknown {
  expect(result.stdout.trim(), `stdout was empty; stderr: ${result.stderr}`).not.toBe('');
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`not exactly one JSON document (${(error as Error).message}):\n${result.stdout}\nstderr: ${result.stderr}`);
  }
}

interface Case {
  args: () => string[];
  code: number;
  env?: () => Record<string, string>;
  /** What the document must hold. */
  holds?: (doc: Record<string, unknown>) => void;
}

const failedWith = (kind: string) => (doc: Record<string, unknown>) => expect((doc.error as { kind?: string } | undefined)?.kind).toBe(kind);

// In order: later cases see what earlier ones changed (a paused account, a decided proposal).
const CASES: Array<[string, Case]> = [
  ['migrate --status', { args: () => ['migrate', '--status'], code: 0 }],
  ['migrate --dry-run', { args: () => ['migrate', '--dry-run'], code: 0 }],
  ['migrate (nothing to apply)', { args: () => ['migrate'], code: 0 }],
  ['config', { args: () => ['config'], code: 0 }],
  ['doctor', { args: () => ['doctor'], code: 0 }],
  ['enroll (already enrolled)', { args: () => ['enroll', partner], code: 0 }],
  ['enroll an unknown user', { args: () => ['enroll', `nobody@${firm.emu.domain}`], code: 7, holds: failedWith('not_found') }],
  ['enroll-all', { args: () => ['enroll-all'], code: 0 }],
  ['accounts', { args: () => ['accounts'], code: 0 }],
  ['accounts pause', { args: () => ['accounts', 'pause', partner], code: 0 }],
  ['accounts resume', { args: () => ['accounts', 'resume', partner], code: 0 }],
  ['accounts share --dry-run', { args: () => ['accounts', 'share', partner, 'subject', '--dry-run'], code: 0 }],
  ['accounts share, bad level', { args: () => ['accounts', 'share', partner, 'everything'], code: 2, holds: failedWith('usage') }],
  ['accounts remove without --yes', { args: () => ['accounts', 'remove', partner], code: 2, holds: (doc) => expect(doc).toMatchObject({ removed: false }) }],
  ['accounts remove an unknown mailbox', { args: () => ['accounts', 'remove', 'nobody@nowhere.example'], code: 7, holds: failedWith('not_found') }],
  ['auth oauth without an OAuth client', { args: () => ['auth', 'oauth', partner], code: 2 }],
  ['status', { args: () => ['status'], code: 0, holds: (doc) => expect(doc).toHaveProperty('accounts') }],
  ['status --account unknown', { args: () => ['status', '--account', 'nobody@nowhere.example'], code: 0 }],
  ['sync', { args: () => ['sync', '--no-propose'], code: 0, holds: (doc) => expect(doc).toMatchObject({ ran: true }) }],
  ['sync --account unknown', { args: () => ['sync', '--account', 'nobody@nowhere.example'], code: 7, holds: failedWith('not_found') }],
  ['sync with the integration off', { args: () => ['sync'], code: 3, env: () => ({ ...firm.env, CRM_GMAIL_INTEGRATION_ENABLED: 'false' }), holds: failedWith('disabled') }],
  ['sync --max-minutes bad', { args: () => ['sync', '--max-minutes', 'soon'], code: 2, holds: failedWith('usage') }],
  ['rematch --dry-run', { args: () => ['rematch', '--dry-run'], code: 0 }],
  ['rematch', { args: () => ['rematch'], code: 0 }],
  ['rematch --remote', { args: () => ['rematch', '--remote'], code: 0 }],
  ['exclude list', { args: () => ['exclude', 'list'], code: 0 }],
  ['exclude add --dry-run', { args: () => ['exclude', 'add', 'doctor@clinic.example', '--dry-run'], code: 0 }],
  ['exclude add', { args: () => ['exclude', 'add', 'doctor@clinic.example', '--reason', 'medical'], code: 0 }],
  ['exclude remove', { args: () => ['exclude', 'remove', 'doctor@clinic.example'], code: 0 }],
  ['exclude remove, not excluded', { args: () => ['exclude', 'remove', 'doctor@clinic.example'], code: 7 }],
  ['purge --dry-run', { args: () => ['purge', '--older-than', '3650', '--dry-run'], code: 0 }],
  ['purge, bad age', { args: () => ['purge', '--older-than', 'old'], code: 2, holds: failedWith('usage') }],
  ['messages', { args: () => ['messages', '--limit', '3'], code: 0 }],
  ['messages, bad limit', { args: () => ['messages', '--limit', 'many'], code: 2, holds: failedWith('usage') }],
  ['messages, unknown investor', { args: () => ['messages', '--investor', 'Nobody Capital Zzz'], code: 7, holds: failedWith('not_found') }],
  ['verify', { args: () => ['verify'], code: 0 }],
  ['propose --dry-run', { args: () => ['propose', '--drafter', 'rule', '--dry-run'], code: 0 }],
  ['propose', { args: () => ['propose', '--drafter', 'rule'], code: 0 }],
  ['propose --since without --force', { args: () => ['propose', '--drafter', 'rule', '--since', '2020-01-01'], code: 2, holds: failedWith('usage') }],
  ['review (no terminal)', { args: () => ['review', '--as', partner], code: 2 }],
  ['review list', { args: () => ['review', 'list'], code: 0 }],
  ['review approve', { args: () => ['review', 'approve', String(proposals[0]), '--as', partner], code: 0 }],
  ['review approve again (decided)', { args: () => ['review', 'approve', String(proposals[0]), '--as', partner], code: 8, holds: failedWith('conflict') }],
  ['review dismiss', { args: () => ['review', 'dismiss', String(proposals[1]), '--as', partner], code: 0 }],
  ['review approve unknown', { args: () => ['review', 'approve', '999999', '--as', partner], code: 7, holds: failedWith('not_found') }],
  ['review unknown subcommand', { args: () => ['review', 'frobnicate'], code: 2, holds: failedWith('usage') }],
  ['threads', { args: () => ['threads'], code: 0 }],
  ['threads --limit 1', { args: () => ['threads', '--limit', '1'], code: 0, holds: (doc) => expect(doc).toMatchObject({ limit: 1, truncated: true }) }],
  ['threads --by-investor', { args: () => ['threads', '--by-investor'], code: 0 }],
  ['threads, bad --since', { args: () => ['threads', '--since', 'last tuesday'], code: 2, holds: failedWith('usage') }],
  ['thread', { args: () => ['thread', String(threadId)], code: 0 }],
  ['thread unknown', { args: () => ['thread', '999999'], code: 7, holds: failedWith('not_found') }],
  ['thread, not a number', { args: () => ['thread', 'first'], code: 2, holds: failedWith('usage') }],
  ['investors', { args: () => ['investors'], code: 0 }],
  ['investors --stale', { args: () => ['investors', '--stale', '60'], code: 0 }],
  ['investors suggestions', { args: () => ['investors', 'suggestions'], code: 0 }],
  ['investor', { args: () => ['investor', String(investorId)], code: 0 }],
  ['investor unknown', { args: () => ['investor', 'Nobody Capital Zzz'], code: 7, holds: failedWith('not_found') }],
  ['search', { args: () => ['search', 'the'], code: 0, holds: (doc) => expect(doc).toHaveProperty('truncated') }],
  ['search without a word', { args: () => ['search'], code: 2, holds: failedWith('usage') }],
  ['parse', { args: () => ['parse', eml], code: 0 }],
  ['parse a missing file', { args: () => ['parse', join(dir, 'missing.eml')], code: 2 }],
  ['emulator, bad port', { args: () => ['emulator', '--port', 'eighty'], code: 2, holds: failedWith('usage') }],
  ['an unknown command', { args: () => ['frobnicate'], code: 2, holds: failedWith('usage') }],
  ['an unknown option', { args: () => ['threads', '--colour'], code: 2, holds: failedWith('usage') }],
  ['a --db that does not exist', { args: () => ['--db', join(dir, 'typo.db'), 'threads'], code: 2 }],
  ['a missing --env-file', { args: () => ['--env-file', join(dir, 'missing.env'), 'status'], code: 2 }],
  ['uninstall without --yes', { args: () => ['uninstall'], code: 2, holds: (doc) => expect(doc).toMatchObject({ dropped: false }) }],
  ['uninstall --yes', { args: () => ['uninstall', '--yes', '--no-backup'], code: 0 }],
];

describe('--json writes exactly one JSON document', () => {
  it.each(CASES)('%s', async (_name, test) => {
    const result = await runCli(['--json', ...test.args()], { env: test.env?.() ?? firm.env });
    const doc = oneDocument(result);
    expect(result.code, result.stderr).toBe(test.code);
    if (test.holds) test.holds(doc as Record<string, unknown>);
    if (test.code !== 0 && !test.holds) expect(doc).toHaveProperty('error');
  });

  it('emulator (until stopped)', async () => {
    const result = await runEmulatorUntilReady();
    expect(oneDocument(result)).toHaveProperty('rootUrl');
  });
});
