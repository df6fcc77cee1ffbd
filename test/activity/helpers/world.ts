/**
 * A real, migrated CRM file (foreign keys on) seeded from fixtures/crm-seed.sql, two enrolled
 * mailboxes, and builders for the mail rows the capture pipeline would store. The rows are plain
 * SQL inserts into the 0001 tables, so these tests do not depend on the pipeline's code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../../src/db/open.js';
import { migrate } from '../../../src/db/migrate.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { writeTinyModel } from '../../../src/activity/tinyModel.js';
import { PROJECT_ROOT } from '../../helpers/cli.js';

export const JANE = { userId: 1, email: 'jane@northwind.vc', name: 'Jane Doe' };
export const OMAR = { userId: 2, email: 'omar@northwind.vc', name: 'Omar Haddad' };
export const INACTIVE = 'former@northwind.vc';
export const ANN = { address: 'ann.lee@harborview-pension.com', name: 'Ann Lee', investorId: 1 };
export const CHARLES = { address: 'charles@cedarfo.com', name: 'Charles Brun', investorId: 2 };

export const DAY = 86_400_000;

export interface World {
  db: Db;
  path: string;
  janeAccount: number;
  omarAccount: number;
}

export async function makeWorld(path: string): Promise<World> {
  const db = openDatabase(path);
  await migrate(db, { dbPath: path, backup: false, dryRun: false });
  db.exec(readFileSync(join(PROJECT_ROOT, 'fixtures', 'crm-seed.sql'), 'utf8'));
  const enroll = db.prepare('INSERT INTO email_accounts (user_id, email) VALUES (?, ?)');
  const janeAccount = Number(enroll.run(JANE.userId, JANE.email).lastInsertRowid);
  const omarAccount = Number(enroll.run(OMAR.userId, OMAR.email).lastInsertRowid);
  return { db, path, janeAccount, omarAccount };
}

export interface Person {
  address: string;
  name?: string;
}

export interface MailSpec {
  accountId: number;
  messageKey: string;
  dateMs: number;
  direction?: 'sent' | 'received' | 'internal';
  subject?: string;
  from: Person;
  to: Person[];
  cc?: Person[];
  body?: string;
  isBulk?: boolean;
  deleted?: boolean;
  /** Investor matches of this copy. */
  matches?: Array<{ investorId: number; address: string; strategy?: 'exact' | 'domain' }>;
}

let gmailCounter = 0;

/** Inserts one mailbox copy with its participants and matches; returns the emails.id. */
export function addMail(db: Db, spec: MailSpec): number {
  const json = (people: Person[]) => JSON.stringify(people.map((person) => ({ address: person.address, name: person.name ?? '' })));
  const id = Number(
    db
      .prepare(
        `INSERT INTO emails (account_id, gmail_id, gmail_thread_id, message_key, rfc_message_id, subject, from_address, from_name,
                             to_json, cc_json, internal_date_ms, sent_ms, direction, snippet, body_text, is_bulk, content_level, deleted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'full', ?)`,
      )
      .run(
        spec.accountId,
        `g${++gmailCounter}`,
        `t${gmailCounter}`,
        spec.messageKey,
        `<${spec.messageKey}>`,
        spec.subject ?? 'Fund III',
        spec.from.address,
        spec.from.name ?? null,
        json(spec.to),
        json(spec.cc ?? []),
        spec.dateMs,
        spec.dateMs,
        spec.direction ?? 'sent',
        (spec.body ?? '').slice(0, 100),
        spec.body ?? 'Thanks for your time today. We will send the deck on Monday.',
        spec.isBulk ? 1 : 0,
        spec.deleted ? new Date(spec.dateMs).toISOString() : null,
      ).lastInsertRowid,
  );
  const participant = db.prepare('INSERT OR IGNORE INTO email_participants (email_id, role, address, name) VALUES (?, ?, ?, ?)');
  participant.run(id, 'from', spec.from.address, spec.from.name ?? null);
  for (const person of spec.to) participant.run(id, 'to', person.address, person.name ?? null);
  for (const person of spec.cc ?? []) participant.run(id, 'cc', person.address, person.name ?? null);
  const match = db.prepare('INSERT INTO email_investor_matches (email_id, investor_id, strategy, matched_address) VALUES (?, ?, ?, ?)');
  for (const item of spec.matches ?? []) match.run(id, item.investorId, item.strategy ?? 'exact', item.address);
  return id;
}

/** A message Jane sent to Ann (investor 1), as stored in Jane's mailbox. */
export function janeToAnn(world: World, messageKey: string, dateMs: number, extra: Partial<MailSpec> = {}): number {
  return addMail(world.db, {
    accountId: world.janeAccount,
    messageKey,
    dateMs,
    direction: 'sent',
    from: { address: JANE.email, name: JANE.name },
    to: [{ address: ANN.address, name: ANN.name }],
    matches: [{ investorId: ANN.investorId, address: ANN.address }],
    ...extra,
  });
}

export function configFor(env: Record<string, string> = {}): Config {
  return loadConfig(env);
}

/** Writes the project's tiny deterministic model into `dir` and returns its path. */
export function tinyModel(dir: string): string {
  const path = join(dir, 'tiny.gguf');
  writeTinyModel(path);
  return path;
}

export function proposals(db: Db): Array<Record<string, unknown>> {
  return db.prepare('SELECT * FROM email_activity_proposals ORDER BY id').all() as Array<Record<string, unknown>>;
}

export function notesOf(db: Db, investorId: number): { notes: string | null; updated_by: number | null; updated_at: string | null } | undefined {
  return db.prepare('SELECT notes, updated_by, updated_at FROM fundraising_state WHERE investor_id = ?').get(investorId) as
    | { notes: string | null; updated_by: number | null; updated_at: string | null }
    | undefined;
}
