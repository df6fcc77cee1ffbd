/**
 * Builders for the newcomer tests: a migrated CRM file seeded from fixtures/crm-seed.sql, a
 * service-account key file, and a `crontab` program on PATH that prints a given crontab.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/db/open.js';
import { MIGRATIONS_TABLE, migrate, readMigrationFiles } from '../../src/db/migrate.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

export async function makeCrmDb(
  path: string,
  options: { migrations?: number; beforeMigrate?: (db: Db) => void; seed?: boolean; /** Apply the SQL past migrate's contract check, to build a broken CRM for doctor. */ bypassContract?: boolean } = {},
): Promise<Db> {
  const db = openDatabase(path);
  options.beforeMigrate?.(db);
  const files = readMigrationFiles().slice(0, options.migrations ?? readMigrationFiles().length);
  if (options.bypassContract) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version TEXT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    for (const file of files) {
      db.exec(file.sql);
      db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} VALUES (?, ?, ?, ?)`).run(file.version, file.name, file.checksum, new Date().toISOString());
    }
  } else {
    await migrate(db, { dbPath: path, backup: false, dryRun: false, files });
  }
  if (options.seed ?? true) db.exec(readFileSync(join(PROJECT_ROOT, 'fixtures', 'crm-seed.sql'), 'utf8'));
  return db;
}

export function enroll(db: Db, userId: number, email: string, status = 'active'): number {
  return Number(db.prepare('INSERT INTO email_accounts (user_id, email, status) VALUES (?, ?, ?)').run(userId, email, status).lastInsertRowid);
}

export function writeServiceAccountKey(path: string, mode: number): void {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    type: 'service_account',
    project_id: 'crm-mail-test',
    private_key_id: 'k1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'crm-mail@crm-mail-test.iam.gserviceaccount.com',
    client_id: '109876543210987654321',
  };
  writeFileSync(path, JSON.stringify(key, null, 2));
  chmodSync(path, mode);
}

/** A folder holding a `crontab` that prints `text` for `crontab -l` (exit 1 "no crontab" when null). */
export function fakeCrontabDir(dir: string, text: string | null): string {
  mkdirSync(dir, { recursive: true });
  const script =
    text === null
      ? '#!/bin/sh\necho "no crontab for $USER" >&2\nexit 1\n'
      : `#!/bin/sh\n[ "$1" = "-l" ] || exit 2\ncat <<'CRONTAB'\n${text}\nCRONTAB\n`;
  writeFileSync(join(dir, 'crontab'), script);
  chmodSync(join(dir, 'crontab'), 0o755);
  return dir;
}

/**
 * A PATH folder with only what bin/crm-mail's shell wrapper needs (node, readlink, dirname): no
 * crontab, whatever the machine has installed.
 */
export function minimalPathDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const tool of ['readlink', 'dirname']) {
    symlinkSync(execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(dir, tool));
  }
  return dir;
}
