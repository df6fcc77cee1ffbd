/** Shared pieces of the pipeline tests: the corpus folder and a migrated SQLite file. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/db/open.js';
import { migrate } from '../../src/db/migrate.js';
import { insertAccount } from '../../src/db/accounts.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

export const CORPUS_DIR = join(PROJECT_ROOT, '..', 'shared', 'corpus');

/** The corpus .eml names; throws a clear error when the shared corpus is not there. */
export function corpusFiles(): string[] {
  if (!existsSync(CORPUS_DIR)) {
    throw new Error(`the shared message corpus is missing: expected ${CORPUS_DIR} (../shared/corpus next to the project). These tests read real messages from it.`);
  }
  const files = readdirSync(CORPUS_DIR).filter((file) => file.endsWith('.eml')).sort();
  if (files.length === 0) throw new Error(`the corpus folder ${CORPUS_DIR} holds no .eml files`);
  return files;
}

/** One corpus file by its prefix ('d026'). */
export function corpusRaw(prefix: string): Buffer {
  const file = corpusFiles().find((name) => name.startsWith(prefix + '_'));
  if (!file) throw new Error(`corpus message ${prefix} not found in ${CORPUS_DIR}`);
  return readFileSync(join(CORPUS_DIR, file));
}

export function corpusTsv(name: string): Array<Record<string, string>> {
  corpusFiles();
  const lines = readFileSync(join(CORPUS_DIR, name), 'utf8').split('\n').filter((line) => line.trim() !== '');
  const header = lines[0]!.split('\t');
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(header.map((key, index) => [key, cells[index] ?? '']));
  });
}

/** A fresh CRM file with every migration applied, two users and their mailboxes. */
export async function migratedDb(dir: string, name = 'crm.db'): Promise<{ db: Db; path: string; accounts: { jane: number; omar: number } }> {
  const path = join(dir, name);
  const db = openDatabase(path);
  await migrate(db, { dbPath: path, backup: false, dryRun: false });
  db.prepare("INSERT INTO users (id, email, name, is_active) VALUES (1, 'jane@northwind.vc', 'Jane Doe', 1), (2, 'omar@northwind.vc', 'Omar Haddad', 1)").run();
  const jane = insertAccount(db, { userId: 1, email: 'jane@northwind.vc', authMethod: 'dwd' }).id;
  const omar = insertAccount(db, { userId: 2, email: 'omar@northwind.vc', authMethod: 'dwd' }).id;
  return { db, path, accounts: { jane, omar } };
}
