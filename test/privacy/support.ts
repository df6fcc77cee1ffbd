/** What the privacy tests read back from a firm's CRM file and attachment folder. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../src/db/open.js';

/** Every blob file under the attachment store (the temp folder left out). */
export function blobFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      if (name === '.tmp') continue;
      const child = join(path, name);
      if (statSync(child).isDirectory()) walk(child);
      else out.push(name);
    }
  };
  walk(dir);
  return out.sort();
}

/** Hashes the stored attachment rows reference. */
export function referencedBlobs(db: Db): string[] {
  return (db.prepare("SELECT DISTINCT sha256 FROM email_attachments WHERE status = 'stored' ORDER BY sha256").all() as Array<{ sha256: string }>).map((row) => row.sha256);
}

/** Copies with a participant at this domain (or one of its sub-domains). */
export function copiesAtDomain(db: Db, domain: string): number {
  return (
    db
      .prepare("SELECT count(DISTINCT email_id) AS n FROM email_participants WHERE lower(address) LIKE ? OR lower(address) LIKE ?")
      .get(`%@${domain}`, `%.${domain}`) as { n: number }
  ).n;
}

/** Live threads left without any mail. */
export function emptyThreads(db: Db): number {
  return (db.prepare('SELECT count(*) AS n FROM email_threads t WHERE t.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM emails e WHERE e.thread_id = t.id)').get() as { n: number }).n;
}

export function count(db: Db, sql: string, ...args: unknown[]): number {
  return (db.prepare(sql).get(...args) as { n: number }).n;
}
