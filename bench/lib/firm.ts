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
import type { QuotaModelName } from '../../src/gmail/quotaModel.js';
import { runCrmMailOk } from './crm-cli.js';

export interface Firm {
  dir: string;
  dbPath: string;
  env: Record<string, string>;
  remove(): void;
}

/**
 * How crm-mail meters its own Gmail calls in a benchmark run:
 * - `{ model }`: that quota model at crm-mail's DEFAULT per-account budget (nothing else set);
 * - `{ model, budget }`: that model with CRM_GMAIL_RATE_UNITS_MIN (2026) or _SEC (legacy) = budget;
 * - 'unmetered': crm-mail's limiter out of the way (legacy model at 100,000 units/s, a project
 *   budget of 100,000,000 units/min), for the sections that measure everything but the quota.
 */
export type FirmQuota = { model: QuotaModelName; budget?: number } | 'unmetered';

export interface FirmOptions {
  quota: FirmQuota;
  /** Any other CRM_* settings for this firm (they win over the quota settings). */
  settings?: Record<string, string>;
}

/** The CRM_GMAIL_* quota settings a FirmQuota stands for. */
export function quotaSettings(quota: FirmQuota): Record<string, string> {
  if (quota === 'unmetered') return { CRM_GMAIL_QUOTA_MODEL: 'legacy', CRM_GMAIL_RATE_UNITS_SEC: '100000', CRM_GMAIL_PROJECT_UNITS_MIN: '100000000' };
  const settings: Record<string, string> = { CRM_GMAIL_QUOTA_MODEL: quota.model };
  if (quota.budget !== undefined) settings[quota.model === '2026' ? 'CRM_GMAIL_RATE_UNITS_MIN' : 'CRM_GMAIL_RATE_UNITS_SEC'] = String(quota.budget);
  return settings;
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
    ...quotaSettings(options.quota),
    // A benchmark backfill runs to its end in one process: the default time budget (2 minutes below
    // the cron interval) would stop a long 2026-model backfill part way, to be resumed by cron.
    CRM_GMAIL_SYNC_MAX_MIN: '1440',
    CRM_GMAIL_ATTACHMENTS_DIR: join(dir, 'attachments'),
    CRM_MAIL_BENCH_TMP: dir,
    ...options.settings,
  };
  await runCrmMailOk(['enroll-all'], { env });
  return { dir, dbPath, env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
