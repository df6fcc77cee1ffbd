import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { openDatabase } from '../../src/db/open.js';
import { migrate, migrationStatus, readMigrationFiles } from '../../src/db/migrate.js';

const SEED = readFileSync(join(PROJECT_ROOT, 'fixtures', 'crm-seed.sql'), 'utf8');

/** A CRM as the firm's web app made it: its own schema (with an extra column and table crm-mail does not know) and rows. */
function makeExistingCrm(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, is_active INTEGER NOT NULL DEFAULT 1, role TEXT DEFAULT 'partner');
    CREATE TABLE investors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, firm TEXT, stage TEXT);
    CREATE TABLE fundraising_state (investor_id INTEGER PRIMARY KEY REFERENCES investors(id), notes TEXT, updated_at TEXT, updated_by INTEGER REFERENCES users(id));
    CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE deals (id INTEGER PRIMARY KEY, title TEXT);
    INSERT INTO deals (title) VALUES ('Series A — Acme');
  `);
  db.exec(SEED);
  db.close();
}

function snapshot(path: string, tables: string[]): Record<string, unknown> {
  const db = new Database(path, { readonly: true });
  const result: Record<string, unknown> = {};
  for (const table of tables) {
    result[`${table}:schema`] = (db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(table) as { sql: string }).sql;
    result[`${table}:rows`] = db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
  }
  db.close();
  return result;
}

const CRM_TABLES = ['users', 'investors', 'fundraising_state', 'app_settings', 'deals'];

describe('crm-mail migrate', () => {
  it('applies every migration on a fresh path, then reports them applied and applies nothing twice', async () => {
    const dir = tempDir();
    const db = join(dir, 'nested', 'crm.db');
    const first = await runCli(['migrate', '--db', db]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('applied 0000_crm_core');
    expect(first.stdout).toContain('applied 0002_email_activity_proposals');
    expect(first.stdout).toContain('applied 0003_email_deferred_messages');
    expect(first.stdout).toContain('applied 0008_email_relationships');

    const status = await runCli(['migrate', '--status', '--json', '--db', db]);
    expect(status.code).toBe(0);
    const states = JSON.parse(status.stdout) as Array<{ name: string; state: string }>;
    expect(states.map((s) => `${s.name}:${s.state}`)).toEqual(readMigrationFiles().map((file) => `${file.name}:applied`));
    expect(states.slice(0, 4).map((s) => s.name)).toEqual(['0000_crm_core', '0001_email_tables', '0002_email_activity_proposals', '0003_email_deferred_messages']);

    const second = await runCli(['migrate', '--db', db]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing to apply');
  });

  it('leaves an existing CRM exactly as it was and backs it up first', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    makeExistingCrm(path);
    const before = snapshot(path, CRM_TABLES);

    const result = await runCli(['migrate', '--db', path]);
    expect(result.code, result.stderr).toBe(0);
    expect(snapshot(path, CRM_TABLES)).toEqual(before);

    const backups = readdirSync(join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    const backup = new Database(join(dir, 'backups', backups[0]!), { readonly: true });
    expect(backup.prepare('SELECT count(*) AS n FROM investors').get()).toEqual({ n: 4 });
    expect(backup.prepare("SELECT name FROM sqlite_master WHERE name = 'emails'").get()).toBeUndefined();
    backup.close();

    const migrated = new Database(path, { readonly: true });
    expect(migrated.prepare("SELECT name FROM sqlite_master WHERE name = 'email_activity_proposals'").get()).toBeDefined();
    migrated.close();
  });

  it('--dry-run and --no-backup change what they say', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    makeExistingCrm(path);
    const dry = await runCli(['migrate', '--dry-run', '--db', path]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would apply: ${readMigrationFiles().map((file) => file.name).join(', ')}`);
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'emails'").get()).toBeUndefined();
    db.close();

    const real = await runCli(['migrate', '--no-backup', '--db', path]);
    expect(real.code).toBe(0);
    expect(() => readdirSync(join(dir, 'backups'))).toThrow();
  });

  it('refuses a file that is not a CRM, naming what is missing, and changes nothing', async () => {
    const dir = tempDir();
    const path = join(dir, 'blog.db');
    const other = new Database(path);
    other.exec("CREATE TABLE users (uid INTEGER PRIMARY KEY, login TEXT); CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO users VALUES (1, 'ann');");
    other.close();
    const tables = () => {
      const db = new Database(path, { readonly: true });
      const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
      db.close();
      return names;
    };
    for (const args of [['migrate'], ['migrate', '--dry-run'], ['migrate', '--create-crm-tables']]) {
      const result = await runCli([...args, '--db', path]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`${path} is not a CRM database crm-mail can use`);
      expect(result.stderr).toContain('no table investors');
      expect(result.stderr).toContain('no column users.id');
      expect(result.stderr).toContain('Nothing was changed');
    }
    expect(tables()).toEqual(['posts', 'users']);
    expect(() => readdirSync(join(dir, 'backups'))).toThrow();
  });

  it('creates the CRM tables beside other tables only with --create-crm-tables', async () => {
    const dir = tempDir();
    const path = join(dir, 'app.db');
    const other = new Database(path);
    other.exec('CREATE TABLE deals (id INTEGER PRIMARY KEY, title TEXT)');
    other.close();
    const refused = await runCli(['migrate', '--db', path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('no table users, no table investors, no table fundraising_state, no table app_settings');
    expect(refused.stderr).toContain('--create-crm-tables');
    const created = await runCli(['migrate', '--create-crm-tables', '--db', path]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('applied 0000_crm_core');
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('users', 'investors', 'deals', 'emails')").get()).toEqual({ n: 4 });
    db.close();
  });

  it('refuses an applied migration whose file changed', async () => {
    const dir = tempDir();
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    for (const file of readMigrationFiles()) copyFileSync(file.path, join(migrations, `${file.name}.sql`));
    const db = openDatabase(join(dir, 'crm.db'));
    await migrate(db, { dbPath: join(dir, 'crm.db'), backup: false, dryRun: false, files: readMigrationFiles(migrations) });
    writeFileSync(join(migrations, '0001_email_tables.sql'), readFileSync(join(migrations, '0001_email_tables.sql'), 'utf8') + '\n-- edited\n');
    const changed = readMigrationFiles(migrations);
    expect(migrationStatus(db, changed).find((s) => s.version === '0001')?.state).toBe('changed');
    await expect(migrate(db, { dbPath: join(dir, 'crm.db'), backup: false, dryRun: false, files: changed })).rejects.toThrow(
      /0001_email_tables was applied to this database but its file has changed/,
    );
    db.close();
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const dir = tempDir();
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '0000_ok.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(join(migrations, '0001_bad.sql'), 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);');
    const db = openDatabase(join(dir, 'crm.db'));
    const files = readMigrationFiles(migrations);
    await expect(migrate(db, { dbPath: join(dir, 'crm.db'), backup: false, dryRun: false, files })).rejects.toThrow(/0001_bad failed and was rolled back/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
    expect(migrationStatus(db, files).map((s) => s.state)).toEqual(['applied', 'pending']);
    db.close();
  });

  it('enforces foreign keys on every connection: a proposal decided by a missing user is refused', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    expect((await runCli(['migrate', '--db', path])).code).toBe(0);
    const db = openDatabase(path);
    db.exec(SEED);
    const insert = db.prepare(
      "INSERT INTO email_activity_proposals (message_key, investor_id, drafted_note, drafter, status, decided_by) VALUES ('m1', 1, 'note', 'rule', 'approved', ?)",
    );
    expect(() => insert.run(999)).toThrow(/FOREIGN KEY constraint failed/);
    expect(insert.run(1).changes).toBe(1);
    db.close();
  });

  it('uninstall drops only crm-mail tables after a backup, and needs --yes', async () => {
    const dir = tempDir();
    const path = join(dir, 'crm.db');
    makeExistingCrm(path);
    expect((await runCli(['migrate', '--no-backup', '--db', path])).code).toBe(0);
    const before = snapshot(path, CRM_TABLES);
    // The first propose run leaves the cutoff in the CRM's app_settings: crm-mail's, so uninstall takes it too.
    const withCutoff = new Database(path);
    withCutoff.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', '2026-11-01T00:00:00Z')").run();
    withCutoff.close();

    const refused = await runCli(['uninstall', '--db', path]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain('would drop: email_activity_proposals');
    expect(refused.stdout).toContain('email_search, email_schema_migrations, email_investor_activity, email_search_source');
    expect(refused.stdout).toContain('would remove from app_settings: email_activity_since');

    const done = await runCli(['uninstall', '--yes', '--db', path]);
    expect(done.code, done.stderr).toBe(0);
    expect(snapshot(path, CRM_TABLES)).toEqual(before);
    const db = new Database(path, { readonly: true });
    const left = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    // The activity view, the search index's view and its triggers go too.
    const others = db.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger')").all();
    db.close();
    expect(left).toEqual(['app_settings', 'deals', 'fundraising_state', 'investors', 'users']);
    expect(others).toEqual([]);
    expect(done.stdout).toContain('removed from app_settings: email_activity_since');
    // Nothing of crm-mail's is left: no table, index, view or trigger of its own, no setting of its own.
    const check = new Database(path, { readonly: true });
    const ownObjects = check.prepare("SELECT type, name FROM sqlite_master WHERE name LIKE 'email%' OR tbl_name LIKE 'email%'").all();
    const ownSettings = check.prepare("SELECT key FROM app_settings WHERE key LIKE 'email%'").all();
    check.close();
    expect(ownObjects).toEqual([]);
    expect(ownSettings).toEqual([]);
    expect(readdirSync(join(dir, 'backups')).some((name) => name.includes('pre-uninstall'))).toBe(true);
  });
});
