/**
 * SQL for the OAuth fallback's per-account state in email_accounts: the sealed refresh token and
 * the `needs_consent` status. The token is sealed by src/gmail/secretBox.ts before it gets here;
 * this module never sees it in clear.
 */
import type { Db } from './open.js';
import { nowIso } from './open.js';

export interface OAuthAccountRow {
  id: number;
  email: string;
  auth_method: 'dwd' | 'oauth';
  status: 'active' | 'paused' | 'needs_consent';
  oauth_token_sealed: string | null;
}

export function findOAuthAccount(db: Db, email: string): OAuthAccountRow | undefined {
  return db
    .prepare('SELECT id, email, auth_method, status, oauth_token_sealed FROM email_accounts WHERE email = ? COLLATE NOCASE')
    .get(email) as OAuthAccountRow | undefined;
}

/**
 * Stores a sealed refresh token, switches the account to the oauth method and makes it active
 * again (a fresh consent clears needs_consent). Returns false when no account has that email.
 */
export function saveSealedRefreshToken(db: Db, email: string, sealed: string): boolean {
  const result = db
    .prepare(
      `UPDATE email_accounts
          SET oauth_token_sealed = ?, auth_method = 'oauth',
              status = CASE WHEN status = 'needs_consent' THEN 'active' ELSE status END,
              last_error = NULL, updated_at = ?
        WHERE email = ? COLLATE NOCASE`,
    )
    .run(sealed, nowIso(), email);
  return result.changes > 0;
}

export function readSealedRefreshToken(db: Db, email: string): string | undefined {
  const row = db.prepare('SELECT oauth_token_sealed FROM email_accounts WHERE email = ? COLLATE NOCASE').get(email) as
    | { oauth_token_sealed: string | null }
    | undefined;
  return row?.oauth_token_sealed ?? undefined;
}

/** The refresh token was revoked or expired: the partner must consent again. */
export function markNeedsConsent(db: Db, email: string, reason: string): void {
  const now = nowIso();
  db.prepare(
    `UPDATE email_accounts
        SET status = 'needs_consent', last_error = ?, last_error_at = ?, updated_at = ?
      WHERE email = ? COLLATE NOCASE`,
  ).run(reason, now, now, email);
}
