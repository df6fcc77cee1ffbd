/**
 * `crm-mail doctor --online`: exchange one access token for one enrolled mailbox, through the same
 * credentials code sync uses, so delegation (or OAuth consent) is proven before cron runs. The
 * token itself is never shown.
 */
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import { enrolledAccounts } from '../db/schemaInfo.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { tokenFix } from './tokenAdvice.js';

/** Gets an access token for one user; throws the gmail layer's typed error when it cannot. */
export type TokenProbe = (config: Readonly<Config>, dbPath: string, user: string) => Promise<void>;

export async function checkToken(config: Readonly<Config>, db: Db, dbPath: string, probe?: TokenProbe): Promise<CheckResult> {
  const account = enrolledAccounts(db).find((candidate) => candidate.status === 'active');
  if (!account) return warn('token', 'no active enrolled mailbox to exchange a token for', 'crm-mail enroll-all, then run the doctor with --online again');
  const exchange = probe ?? (await import('./tokenProbe.js')).exchangeToken;
  try {
    await exchange(config, dbPath, account.email);
  } catch (error) {
    const failure = error as Error & { kind?: string; reason?: string };
    const fix = tokenFix({ kind: failure.kind, reason: failure.reason }, config.authMethod, account.email, config.saKeyPath ? resolve(config.saKeyPath) : undefined);
    return fail('token', `token exchange for ${account.email} failed: ${failure.message}`, fix);
  }
  return ok('token', `token exchange for ${account.email} works (${config.authMethod}${config.tokenUrl ? `, ${config.tokenUrl}` : ''})`);
}
