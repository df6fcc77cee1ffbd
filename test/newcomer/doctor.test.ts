import { beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { enroll, fakeCrontabDir, makeCrmDb, minimalPathDir, writeServiceAccountKey } from './setup.js';
import { writeTinyModel } from '../../src/activity/tinyModel.js';
import { startEmulator } from '../../src/emulator/index.js';

interface Check {
  name: string;
  level: 'OK' | 'WARN' | 'FAIL';
  message: string;
  fix?: string;
}

const root = tempDir('crm-mail-doctor-');
const cronLine = '*/15 * * * * cd /srv/crm && crm-mail --env-file .env sync >> logs/sync.log 2>&1';
const healthyDb = join(root, 'healthy.db');
const keyPath = join(root, 'sa-key.json');
const attachments = join(root, 'attachments');
const cronBin = fakeCrontabDir(join(root, 'cron-ok'), `# crm-mail\nMAILTO=""\n${cronLine}`);

function env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${cronBin}:${process.env.PATH ?? ''}`,
    CRM_GMAIL_INTEGRATION_ENABLED: 'true',
    CRM_GMAIL_WORKSPACE_DOMAIN: 'northwind.vc',
    CRM_GMAIL_SA_KEY_PATH: keyPath,
    CRM_GMAIL_ATTACHMENTS_DIR: attachments,
    CRM_MAIL_DRAFTER: 'rule',
    CRM_DB_PATH: healthyDb,
    ...overrides,
  };
}

function lineOf(result: CliResult, name: string): string {
  const line = result.stdout.split('\n').find((candidate) => new RegExp(`^(OK|WARN|FAIL)\\s+${name}\\s`).test(candidate));
  if (!line) throw new Error(`no ${name} line in:\n${result.stdout}\n${result.stderr}`);
  return line;
}

function checks(result: CliResult): Check[] {
  return JSON.parse(result.stdout) as Check[];
}

beforeAll(async () => {
  const db = await makeCrmDb(healthyDb);
  enroll(db, 1, 'jane@northwind.vc');
  enroll(db, 2, 'omar@northwind.vc');
  db.close();
  writeServiceAccountKey(keyPath, 0o600);
  mkdirSync(attachments);
});

describe('crm-mail doctor', () => {
  it('reports every check OK on a healthy setup and exits 0', async () => {
    const result = await runCli(['doctor'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => /^(OK|WARN|FAIL) /.test(line));
    for (const name of ['config', 'integration', 'database', 'migrations', 'crm-contract', 'foreign-keys', 'workspace-domain', 'credentials', 'accounts', 'exclusions', 'sharing', 'attachments-dir', 'model', 'cron']) {
      expect(lineOf(result, name)).toMatch(/^OK /);
    }
    expect(lines.every((line) => line.startsWith('OK '))).toBe(true);
    expect(lineOf(result, 'credentials')).toContain('mode 600');
    expect(lineOf(result, 'credentials')).toContain('109876543210987654321');
    expect(lineOf(result, 'cron')).toContain('*/15 * * * *');
    expect(lineOf(result, 'quota-model')).toMatch(/^OK\s+quota-model\s+2026 model: Gmail allows 6,000 units per minute per user, messages\.get costs 20; crm-mail spends at most 5,400 per minute per account .*Quotas/);
    // The key itself never appears.
    expect(result.stdout).not.toContain('PRIVATE KEY');
    expect(result.stdout).toMatch(/0 FAIL, 0 WARN, 15 OK/);
    expect(lineOf(result, 'exclusions')).toContain('none in force');
  });

  it('gives the checks as a JSON array with --json', async () => {
    const result = await runCli(['--json', 'doctor'], { env: env() });
    expect(result.code).toBe(0);
    const list = checks(result);
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((check) => check.name)).toContain('crm-contract');
    expect(list.every((check) => check.level === 'OK' && check.fix === undefined)).toBe(true);
  });

  it('fails the migrations line and exits 1 when a migration is missing', async () => {
    const path = join(root, 'missing-migration.db');
    (await makeCrmDb(path, { migrations: 2 })).close();
    const result = await runCli(['doctor', '--db', path], { env: env() });
    expect(result.code).toBe(1);
    const line = lineOf(result, 'migrations');
    expect(line).toMatch(/^FAIL\s+migrations\s+not applied: 0002_email_activity_proposals, 0003_email_deferred_messages/);
    expect(line).toContain(`fix: crm-mail migrate --db ${path}`);
    expect(lineOf(result, 'crm-contract')).toMatch(/^OK /);
  });

  it('fails the credentials line with the chmod fix when the key file is 644', async () => {
    const loose = join(root, 'sa-key-644.json');
    copyFileSync(keyPath, loose);
    chmodSync(loose, 0o644);
    const result = await runCli(['doctor'], { env: env({ CRM_GMAIL_SA_KEY_PATH: loose }) });
    expect(result.code).toBe(1);
    const line = lineOf(result, 'credentials');
    expect(line).toMatch(/^FAIL\s+credentials\s+service-account key .* has mode 644: readable by group or others/);
    expect(line).toContain(`fix: chmod 600 ${loose}`);
    expect(statSync(loose).mode & 0o777).toBe(0o644); // the doctor reports, it does not change the file
  });

  it('fails the crm-contract line naming a missing table, and a missing column with the statement that adds it', async () => {
    const path = join(root, 'missing-table.db');
    const db = await makeCrmDb(path);
    db.exec('DROP TABLE app_settings');
    db.close();
    const result = await runCli(['doctor', '--db', path], { env: env() });
    expect(result.code).toBe(1);
    expect(lineOf(result, 'crm-contract')).toMatch(/^FAIL\s+crm-contract\s+table app_settings is missing .*fix: .*CREATE TABLE app_settings \(key TEXT PRIMARY KEY, value TEXT\)/);

    // A CRM whose own schema lacks fundraising_state.updated_by.
    const other = join(root, 'missing-column.db');
    (
      await makeCrmDb(other, {
        seed: false,
        bypassContract: true,
        beforeMigrate: (crm) =>
          crm.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, is_active INTEGER);
                    CREATE TABLE investors (id INTEGER PRIMARY KEY, name TEXT, email TEXT, organization TEXT);
                    CREATE TABLE fundraising_state (investor_id INTEGER PRIMARY KEY, notes TEXT, updated_at TEXT);`),
      })
    ).close();
    const second = await runCli(['--json', 'doctor', '--db', other], { env: env() });
    expect(second.code).toBe(1);
    const contract = checks(second).find((check) => check.name === 'crm-contract')!;
    expect(contract.level).toBe('FAIL');
    expect(contract.message).toBe('fundraising_state.updated_by is missing');
    expect(contract.fix).toContain('ALTER TABLE fundraising_state ADD COLUMN updated_by INTEGER REFERENCES users(id)');
  });

  it('warns about rows written with foreign keys off', async () => {
    const path = join(root, 'orphans.db');
    const db = await makeCrmDb(path);
    db.pragma('foreign_keys = OFF');
    db.prepare("INSERT INTO emails (account_id, gmail_id, message_key, internal_date_ms) VALUES (99, 'x', 'k', 0)").run();
    db.close();
    const result = await runCli(['doctor', '--db', path], { env: env() });
    expect(result.code).toBe(0);
    expect(lineOf(result, 'foreign-keys')).toMatch(/^WARN\s+foreign-keys\s+on, but rows point at missing parents \(emails 1\).*PRAGMA foreign_key_check/);
  });

  it('fails the database line for a file that does not exist, and creates nothing', async () => {
    const path = join(root, 'nowhere', 'crm.db');
    const result = await runCli(['doctor', '--db', path], { env: env() });
    expect(result.code).toBe(1);
    expect(lineOf(result, 'database')).toMatch(/^FAIL\s+database\s+no database at .*fix: .*crm-mail migrate --db/);
    expect(() => statSync(join(root, 'nowhere'))).toThrow();
  });

  it('fails the config line on an invalid value and still checks the database', async () => {
    const result = await runCli(['doctor'], { env: env({ CRM_GMAIL_CAPTURE: 'everything' }) });
    expect(result.code).toBe(1);
    expect(lineOf(result, 'config')).toMatch(/^FAIL\s+config\s+CRM_GMAIL_CAPTURE="everything" is not valid/);
    expect(lineOf(result, 'migrations')).toMatch(/^OK /);
  });

  it('warns (exit 0) when cron has no sync line or crontab is not installed', async () => {
    const empty = fakeCrontabDir(join(root, 'cron-empty'), null);
    const basics = minimalPathDir(join(root, 'basic-bin'));
    const none = await runCli(['doctor'], { env: env({ PATH: `${empty}:${basics}` }) });
    expect(none.code).toBe(0);
    expect(lineOf(none, 'cron')).toMatch(/^WARN\s+cron\s+no `crm-mail sync` line in `crontab -l`.*fix: crontab -e/);
    const absent = await runCli(['doctor'], { env: env({ PATH: basics }) });
    expect(absent.code).toBe(0);
    expect(lineOf(absent, 'cron')).toMatch(/^WARN\s+cron\s+crontab is not available/);
  });

  it('turns Gmail settings into FAILs only once the integration is on', async () => {
    const off = await runCli(['doctor'], { env: env({ CRM_GMAIL_INTEGRATION_ENABLED: 'false', CRM_GMAIL_SA_KEY_PATH: '', CRM_GMAIL_WORKSPACE_DOMAIN: '' }) });
    expect(off.code).toBe(0);
    expect(lineOf(off, 'integration')).toMatch(/^WARN /);
    expect(lineOf(off, 'credentials')).toMatch(/^WARN\s+credentials\s+CRM_GMAIL_SA_KEY_PATH is not set/);
    const on = await runCli(['doctor'], { env: env({ CRM_GMAIL_SA_KEY_PATH: '', CRM_GMAIL_WORKSPACE_DOMAIN: '' }) });
    expect(on.code).toBe(1);
    expect(lineOf(on, 'workspace-domain')).toMatch(/^FAIL\s+workspace-domain\s+CRM_GMAIL_WORKSPACE_DOMAIN is not set/);
    expect(lineOf(on, 'credentials')).toMatch(/^FAIL /);
  });

  it('loads a real GGUF model with --model and fails a truncated one', async () => {
    const model = join(root, 'tiny.gguf');
    writeTinyModel(model);
    const good = await runCli(['doctor', '--model'], { env: env({ CRM_MAIL_MODEL: model, CRM_MAIL_DRAFTER: '' }) });
    expect(good.code).toBe(0);
    expect(lineOf(good, 'model')).toMatch(/^OK\s+model\s+model .*tiny\.gguf loads: GGUF llama, context 2048, loaded in \d+ ms/);
    const cutModel = join(root, 'cut.gguf');
    copyFileSync(model, cutModel);
    truncateSync(cutModel, Math.floor(readFileSync(model).length / 2));
    const bad = await runCli(['doctor', '--model'], { env: env({ CRM_MAIL_MODEL: cutModel, CRM_MAIL_DRAFTER: '' }) });
    expect(bad.code).toBe(1);
    expect(lineOf(bad, 'model')).toMatch(/^FAIL\s+model\s+.*truncated/);
  });

  it('exchanges a token for one enrolled user with --online, and names the Admin console fix when delegation is missing', async () => {
    const emulator = await startEmulator({ mailboxes: { 'jane@northwind.vc': [], 'omar@northwind.vc': [] }, keyDir: join(root, 'emulator') });
    try {
      const online = env({ CRM_GMAIL_SA_KEY_PATH: emulator.serviceAccountKeyFile, CRM_GMAIL_TOKEN_URL: emulator.tokenUrl, CRM_GMAIL_API_ROOT: emulator.rootUrl });
      const good = await runCli(['doctor', '--online'], { env: online });
      expect(good.code).toBe(0);
      expect(lineOf(good, 'token')).toMatch(/^OK\s+token\s+token exchange for jane@northwind\.vc works/);
      expect(good.stdout).not.toMatch(/ya29|eyJ/); // no token in the output

      emulator.setDelegation(emulator.serviceAccount.clientId, false);
      const denied = await runCli(['doctor', '--online'], { env: online });
      expect(denied.code).toBe(1);
      const line = lineOf(denied, 'token');
      expect(line).toMatch(/^FAIL\s+token\s+token exchange for jane@northwind\.vc failed: /);
      expect(line).toContain('fix: in the Admin console');
      expect(line).toContain('https://www.googleapis.com/auth/gmail.readonly');

      // With the switch off nothing contacts Google: the refused delegation would have made a FAIL.
      const switchedOff = await runCli(['doctor', '--online'], { env: { ...online, CRM_GMAIL_INTEGRATION_ENABLED: 'false' } });
      expect(lineOf(switchedOff, 'token')).toMatch(/^WARN\s+token\s+not checked: the Gmail integration is off, so nothing contacts Google/);
    } finally {
      await emulator.stop();
    }
  });
});

describe('doctor building blocks', () => {
  it('finds the active crm-mail sync line and its schedule, ignoring comments and other jobs', async () => {
    const { findSyncLine, checkCron } = await import('../../src/doctor/cronCheck.js');
    expect(findSyncLine('# */15 * * * * crm-mail sync\n0 3 * * * backup.sh\n')).toBeUndefined();
    expect(findSyncLine('0 3 * * * backup.sh\n*/10 * * * * /usr/bin/crm-mail --env-file /etc/crm.env sync\n')).toEqual({ lineNumber: 2, schedule: '*/10 * * * *' });
    expect(findSyncLine('@hourly crm-mail sync --no-propose')).toEqual({ lineNumber: 1, schedule: '@hourly' });
    expect(findSyncLine('*/15 * * * * crm-mail status')).toBeUndefined();
    expect(checkCron({ available: true, text: '' }, 15).level).toBe('WARN');
    expect(checkCron({ available: true, text: '*/15 * * * * crm-mail sync' }, 15).level).toBe('OK');
    const late = checkCron({ available: true, text: '*/30 * * * * crm-mail sync' }, 15);
    expect(late.level).toBe('WARN');
    expect(late.message).toContain('every 30 minutes');
    expect(late.fix).toContain('CRM_GMAIL_SYNC_INTERVAL_MIN=30');
    expect(checkCron({ available: true, text: '0,20,40 * * * * crm-mail sync' }, 15).level).toBe('WARN');
    expect(checkCron({ available: true, text: '0,20,40 * * * * crm-mail sync' }, 20).level).toBe('OK');
    expect(checkCron({ available: true, text: '*/5 9-18 * * 1-5 crm-mail sync' }, 15).level).toBe('OK');
  });

  it('quotes paths in the commands it suggests', async () => {
    const { shellQuote } = await import('../../src/doctor/databaseChecks.js');
    expect(shellQuote('/srv/crm/data/crm.db')).toBe('/srv/crm/data/crm.db');
    expect(shellQuote("/srv/my crm/it's.db")).toBe("'/srv/my crm/it'\\''s.db'");
  });
});
