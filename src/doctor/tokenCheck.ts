/**
 * `crm-mail doctor --online`: exchange one access token for one enrolled mailbox, through the same
 * credentials code sync uses, so delegation (or OAuth consent) is proven before cron runs. The
 * token itself is never shown.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import { enrolledAccounts } from '../db/schemaInfo.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { GMAIL_SCOPE } from './settingsChecks.js';

/** Gets an access token for one user; throws the gmail layer's typed error when it cannot. */
export type TokenProbe = (config: Readonly<Config>, dbPath: string, user: string) => Promise<void>;

export async function checkToken(config: Readonly<Config>, db: Db, dbPath: string, probe?: TokenProbe): Promise<CheckResult> {
  const account = enrolledAccounts(db).find((candidate) => candidate.status === 'active');
  if (!account) return warn('token', 'no active enrolled mailbox to exchange a token for', 'crm-mail enroll-all, then run the doctor with --online again');
  const exchange = probe ?? (await import('./tokenProbe.js')).exchangeToken;
  try {
    await exchange(config, dbPath, account.email);
  } catch (error) {
    const message = (error as Error).message;
    const fix =
      config.authMethod === 'dwd'
        ? `in the Admin console (Security > Access and data control > API controls > Domain-wide delegation) authorize the service account's client id for ${GMAIL_SCOPE}`
        : `the partner consents again: crm-mail auth oauth ${account.email}`;
    return fail('token', `token exchange for ${account.email} failed: ${message}`, fix);
  }
  return ok('token', `token exchange for ${account.email} works (${config.authMethod}${config.tokenUrl ? `, ${config.tokenUrl}` : ''})`);
}
