/**
 * Shared set-up for the Gmail layer's tests: small synthetic mailboxes for the emulator and a
 * configuration pointed at it. Messages are built here (never copied from the corpus).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/open.js';
import { migrate } from '../../src/db/migrate.js';
import { crmMailSettings, type Emulator } from '../../src/emulator/index.js';

export const JANE = 'jane@northwind.vc';
export const BOB = 'bob@northwind.vc';

export function rawMessage(n: number, options: { from?: string; to?: string; attachment?: Buffer } = {}): Buffer {
  const from = options.from ?? `LP ${n} <lp${n}@fund${n % 7}.example>`;
  const to = options.to ?? JANE;
  const date = new Date(Date.UTC(2026, 10, 1, 9, 0, 0) + n * 60_000).toUTCString().replace('GMT', '+0000');
  const head = [`From: ${from}`, `To: ${to}`, `Subject: Update ${n}`, `Date: ${date}`, `Message-ID: <m${n}.${randomBytes(4).toString('hex')}@fund.example>`, 'MIME-Version: 1.0'];
  if (!options.attachment) {
    return Buffer.from([...head, 'Content-Type: text/plain; charset=utf-8', '', `Hello, this is update number ${n}.`, ''].join('\r\n'));
  }
  const boundary = `b${n}`;
  return Buffer.from(
    [
      ...head,
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `See attached, update ${n}.`,
      `--${boundary}`,
      'Content-Type: application/pdf; name="deck.pdf"',
      'Content-Disposition: attachment; filename="deck.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      options.attachment.toString('base64').replace(/.{76}/g, '$&\r\n'),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

export function mailbox(count: number, start = 0): Array<{ raw: Buffer; internalDate: number }> {
  const base = Date.now() - 3 * 86_400_000;
  return Array.from({ length: count }, (_, i) => ({ raw: rawMessage(start + i), internalDate: base + i * 1000 }));
}

/** A configuration for the emulator; `extra` overrides or adds variables. */
export function emulatorConfig(emu: Emulator, extra: Record<string, string> = {}): Config {
  return loadConfig({
    ...crmMailSettings(emu),
    ...extra,
  });
}

export function secretKeyBase64(): string {
  return randomBytes(32).toString('base64');
}

/** A migrated CRM file with users and their enrolled accounts (inserted as enrolment would). */
export async function crmWithAccounts(dir: string, accounts: Array<{ email: string; authMethod?: 'dwd' | 'oauth' }>): Promise<{ db: Db; path: string }> {
  const path = join(dir, `crm-${randomBytes(4).toString('hex')}.db`);
  const db = openDatabase(path);
  await migrate(db, { dbPath: path, backup: false, dryRun: false });
  for (const account of accounts) {
    const user = db.prepare('INSERT INTO users (email, name) VALUES (?, ?)').run(account.email, account.email.split('@')[0]);
    db.prepare('INSERT INTO email_accounts (user_id, email, auth_method) VALUES (?, ?, ?)').run(user.lastInsertRowid, account.email, account.authMethod ?? 'dwd');
  }
  return { db, path };
}
