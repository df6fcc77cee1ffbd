/**
 * The doctor's token exchange, through the gmail layer's own credentials (so it proves exactly
 * what sync will do). It gets its own writable connection: an OAuth refresh token found revoked is
 * recorded on the account (needs_consent), as sync would record it.
 */
import type { Config } from '../config.js';
import { openDatabase } from '../db/open.js';

export async function exchangeToken(config: Readonly<Config>, dbPath: string, user: string): Promise<void> {
  const { credentialsFromConfig } = await import('../gmail/auth.js');
  const db = openDatabase(dbPath, { mustExist: true });
  try {
    const token = await credentialsFromConfig(config, { db }).accessToken(user);
    if (typeof token !== 'string' || token === '') throw new Error('the token endpoint answered without an access token');
  } finally {
    db.close();
  }
}
