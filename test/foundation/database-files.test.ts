import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { openDatabase } from '../../src/db/open.js';
import { databaseFault } from '../../src/db/faults.js';

const SEED = readFileSync(join(PROJECT_ROOT, 'fixtures', 'crm-seed.sql'), 'utf8');
const GMAIL_ENV = { CRM_GMAIL_INTEGRATION_ENABLED: 'true', CRM_GMAIL_WORKSPACE_DOMAIN: 'northwind.vc', CRM_GMAIL_SA_KEY_PATH: '/nonexistent/key.json' };

/** Every command that reads or writes the CRM file, as an admin would type it. */
const COMMANDS: string[][] = [
  ['accounts'],
  ['accounts', 'pause', 'jane@northwind.vc'],
  ['review', '--as', 'jane@northwind.vc'],
  ['review', 'list'],
  ['review', 'approve', '1', '--as', 'jane@northwind.vc'],
  ['review', 'dismiss', '1', '--as', 'jane@northwind.vc'],
  ['propose'],
  ['rematch'],
  ['enroll', 'jane@northwind.vc'],
  ['enroll-all'],
  ['migrate', '--status'],
  ['migrate', '--dry-run'],
  ['status'],
  ['sync'],
  ['verify'],
  ['threads'],
  ['thread', '1'],
  ['messages'],
  ['uninstall'],
];

describe('a mistyped --db', () => {
  it('never creates a file: every command but migrate refuses with the path and the fix', async () => {
    const dir = tempDir();
    for (const command of COMMANDS) {
      const path = join(dir, 'typo', 'crm.db');
      const result = await runCli([...command, '--db', path], { env: GMAIL_ENV });
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr, command.join(' ')).toContain(`cannot open the CRM database ${path}: no such file`);
      expect(result.stderr).toContain('crm-mail migrate');
      expect(existsSync(join(dir, 'typo')), command.join(' ')).toBe(false);
    }
  });

  it('migrate creates the file, says so, and makes it mode 600', async () => {
    const dir = tempDir();
    const path = join(dir, 'new', 'crm.db');
    const result = await runCli(['migrate', '--db', path]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`created a new database ${path} (mode 600)`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await runCli(['migrate', '--db', path]);
    expect(again.stdout).not.toContain('created a new database');
  });

  it('migrate backups take the source mode (at most 600) in a folder only the owner can read', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    const raw = new Database(path);
    raw.exec(readFileSync(join(PROJECT_ROOT, 'migrations', '0000_crm_core.sql'), 'utf8'));
    raw.close();
    chmodSync(path, 0o644);
    const result = await runCli(['migrate', '--db', path]);
    expect(result.code, result.stderr).toBe(0);
    const backups = readdirSync(join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(statSync(join(dir, 'backups')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'backups', backups[0]!)).mode & 0o777).toBe(0o600);
  });

  it('migrate --status and --dry-run leave an existing file byte for byte and mtime as it was', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    const raw = new Database(path);
    raw.exec(readFileSync(join(PROJECT_ROOT, 'migrations', '0000_crm_core.sql'), 'utf8'));
    raw.exec(SEED);
    raw.close();
    const bytes = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    for (const args of [['migrate', '--status'], ['migrate', '--dry-run'], ['--json', 'migrate', '--status']]) {
      const result = await runCli([...args, '--db', path]);
      expect(result.code, result.stderr).toBe(0);
    }
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });
});

describe('database faults name the file and the fix', () => {
  it('a file that is not SQLite', async () => {
    const dir = tempDir();
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'this is a text file, not a database; '.repeat(40));
    for (const command of [['threads'], ['review', 'list'], ['migrate'], ['status']]) {
      const result = await runCli([...command, '--db', path]);
      expect(result.code, command.join(' ')).toBe(2);
      expect(result.stderr).toContain(`cannot open the CRM database ${path}: the file is not an SQLite database`);
      expect(result.stderr).toContain(`crm-mail doctor --db ${path}`);
      expect(result.stderr).not.toContain('unexpected error');
    }
  });

  it('a CRM table that is missing (investors) in threads, thread and review list', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    expect((await runCli(['migrate', '--db', path])).code).toBe(0);
    const raw = new Database(path);
    raw.pragma('foreign_keys = OFF');
    raw.exec('DROP TABLE fundraising_state; DROP TABLE investors;');
    raw.close();
    for (const command of [['threads'], ['thread', '1'], ['review', 'list']]) {
      const result = await runCli([...command, '--db', path]);
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`the CRM database ${path} has no table investors`);
      expect(result.stderr).toContain('crm-mail doctor');
      expect(result.stderr).not.toContain('unexpected error');
    }
  });

  it('a read-only database: the write fails with the file, the cause and the fix', () => {
    // The suite may run as root, which ignores file modes; a read-only connection gives SQLite's own error.
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    openDatabase(path).close();
    const db = openDatabase(path, { readonly: true });
    let caught: unknown;
    try {
      db.exec('CREATE TABLE t (x)');
    } catch (error) {
      caught = error;
    }
    db.close();
    const typed = databaseFault(caught, path);
    expect(typed?.kind).toBe('config');
    expect(typed?.message).toContain(`cannot write the CRM database ${path}: it is read-only for this user`);
    expect(typed?.message).toContain(`crm-mail doctor --db ${path}`);
    expect(databaseFault(new Error('not sqlite'), path)).toBeUndefined();
  });
});
