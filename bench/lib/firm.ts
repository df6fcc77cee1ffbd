/**
 * A generated firm wired to crm-mail: a fresh CRM file holding the scenario's partners (users) and
 * investors, the environment a sync needs to reach the emulator, and every partner enrolled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crmMailSettings, type Emulator, type Scenario } from '../../src/emulator/index.js';
import { insertCrmFixture } from '../../src/db/crm.js';
import { migrate } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { runCrmMailOk } from './crm-cli.js';

export interface Firm {
  dir: string;
  dbPath: string;
  env: Record<string, string>;
  remove(): void;
}

export interface FirmOptions {
  /** crm-mail's own CRM_GMAIL_RATE_UNITS_SEC. */
  rateUnitsPerSec: number;
  /** Any other CRM_* settings for this firm. */
  settings?: Record<string, string>;
}

export async function createFirm(emulator: Emulator, scenario: Scenario, options: FirmOptions): Promise<Firm> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-mail-bench-'));
  const dbPath = join(dir, 'crm.db');
  const db = openDatabase(dbPath);
  try {
    await migrate(db, { dbPath, backup: false, dryRun: false });
    insertCrmFixture(db, {
      users: scenario.partners.map((partner) => ({ email: partner.email, name: partner.name })),
      investors: scenario.investors.map((investor) => ({ id: investor.id, name: investor.name, email: investor.emailCell, firm: investor.firm })),
    });
  } finally {
    db.close();
  }
  const env: Record<string, string> = {
    CRM_DB_PATH: dbPath,
    ...crmMailSettings(emulator),
    CRM_GMAIL_RATE_UNITS_SEC: String(options.rateUnitsPerSec),
    CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'attachments'),
    CRM_MAIL_BENCH_TMP: dir,
    ...options.settings,
  };
  await runCrmMailOk(['enroll-all'], { env });
  return { dir, dbPath, env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
