/** A real, migrated SQLite CRM file for the sync tests, optionally seeded with the fixture CRM. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/db/open.js';
import { migrate } from '../../src/db/migrate.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

export async function migratedDb(path: string, options: { seed?: boolean } = {}): Promise<Db> {
  const db = openDatabase(path);
  await migrate(db, { dbPath: path, backup: false, dryRun: false });
  if (options.seed) db.exec(readFileSync(join(PROJECT_ROOT, 'fixtures', 'crm-seed.sql'), 'utf8'));
  return db;
}
