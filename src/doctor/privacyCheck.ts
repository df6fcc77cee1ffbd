/** The doctor's privacy lines: the exclusions in force and each mailbox's sharing level. */
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import { listShareSettings, queuedBlobRemovals } from '../db/privacy.js';
import { tableColumns } from '../db/schemaInfo.js';
import { exclusionsInForce } from '../privacy/exclusions.js';
import { ok, warn, type CheckResult } from './result.js';

const MIGRATE = 'run crm-mail migrate (migration 0005 adds the privacy controls)';

/** Whether migration 0005's columns are there; a doctor run must say so rather than fail on SQL. */
function hasPrivacySchema(db: Db): boolean {
  return tableColumns(db, 'email_accounts').includes('share_level');
}

export function checkExclusions(db: Db, config: Pick<Config, 'excludedAddresses'>): CheckResult {
  if (!hasPrivacySchema(db)) return warn('exclusions', 'not checked: the privacy tables are missing', MIGRATE);
  const rows = exclusionsInForce(db, config.excludedAddresses);
  if (rows.length === 0) return ok('exclusions', 'none in force (crm-mail exclude add ADDRESS|DOMAIN keeps someone out)');
  const shown = rows.map((row) => (row.source === 'environment' ? `${row.pattern} (environment)` : `${row.pattern}${row.addedBy ? ` (by ${row.addedBy})` : ''}`));
  return ok('exclusions', `${rows.length} in force: ${shown.join(', ')}`);
}

export function checkSharing(db: Db): CheckResult {
  if (!hasPrivacySchema(db)) return warn('sharing', 'not checked: the privacy tables are missing', MIGRATE);
  const queued = queuedBlobRemovals(db).length;
  const settings = listShareSettings(db);
  const shown = settings.map((setting) => `${setting.email} ${setting.level}${setting.setBy ? ` (set by ${setting.setBy} ${setting.setAt?.slice(0, 10) ?? ''})` : ''}`);
  const message = settings.length === 0 ? 'no mailboxes enrolled' : `sharing levels: ${shown.join(', ')}`;
  if (queued > 0) return warn('sharing', `${message}; ${queued} purged attachment files still wait for removal`, 'run crm-mail sync (it removes them first)');
  return ok('sharing', message);
}
