/**
 * A one-partner firm for hostile-mail tests: the emulator serving hand-built .eml messages in Jane's
 * mailbox, a migrated CRM with Jane (partner) and Ann Lee (investor), a proposal cutoff in the past
 * (so the first sync proposes), and the CLI environment pointing at both.
 */
import { join } from 'node:path';
import { crmMailSettings, startEmulator, type Emulator } from '../../src/emulator/index.js';
import { insertCrmFixture } from '../../src/db/crm.js';
import { openDatabase, type Db } from '../../src/db/open.js';
import { ACTIVITY_SINCE_KEY, setSetting } from '../../src/db/settings.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { migratedDb } from './db.js';

export const JANE = 'jane@northwind.vc';
export const ANN = 'ann.lee@harborview-pension.com';

export interface HostileFirm {
  emu: Emulator;
  dbPath: string;
  env: Record<string, string>;
  open(): Db;
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  stop(): Promise<void>;
}

export interface EmlMessage {
  raw: Buffer;
  labelIds?: string[];
  internalDate?: number;
}

/** An RFC 822 message from header lines and a body, CRLF line ends. */
export function eml(headers: string[], body: string): Buffer {
  return Buffer.from([...headers, '', body, ''].join('\r\n'));
}

export async function startHostileFirm(dir: string, messages: EmlMessage[], env: Record<string, string> = {}): Promise<HostileFirm> {
  const emu = await startEmulator({ quotaUnitsPerSec: 0, mailboxes: { [JANE]: messages.map((m) => ({ raw: m.raw, labelIds: m.labelIds ?? ['INBOX'], internalDate: m.internalDate })) } });
  const dbPath = join(dir, 'crm.db');
  const db = await migratedDb(dbPath);
  insertCrmFixture(db, {
    users: [{ email: JANE, name: 'Jane Doe' }],
    investors: [{ id: 1, name: 'Ann Lee', email: ANN, firm: 'Harborview Pension' }],
  });
  setSetting(db, ACTIVITY_SINCE_KEY, '2000-01-01T00:00:00.000Z');
  db.close();
  const fullEnv: Record<string, string> = {
    CRM_DB_PATH: dbPath,
    ...crmMailSettings(emu),
    CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'attachments'),
    CRM_MAIL_DRAFTER: 'rule',
    NO_PROXY: '127.0.0.1,localhost',
    ...env,
  };
  const enrolled = await runCli(['enroll-all'], { env: fullEnv });
  if (enrolled.code !== 0) throw new Error(`enroll-all failed: ${enrolled.stderr}`);
  return {
    emu,
    dbPath,
    env: fullEnv,
    open: () => openDatabase(dbPath),
    cli: (args, extra = {}) => runCli(args, { env: { ...fullEnv, ...extra } }),
    stop: () => emu.stop(),
  };
}
