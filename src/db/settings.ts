/**
 * app_settings, the CRM's key/value table. crm-mail keeps `email_activity_since` (the proposal
 * cutoff) here; other keys belong to the CRM and are only read.
 */
import type { Db } from './open.js';

export const ACTIVITY_SINCE_KEY = 'email_activity_since';

export function getSetting(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM app_settings WHERE key = ?').get(key) as { value: string | null } | undefined;
  return row?.value ?? undefined;
}

/** Sets a key, replacing any value. */
export function setSetting(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

/**
 * Sets a key only when it is absent and returns the value now stored: two processes racing on
 * a first run agree on one value (the first writer's), without a check-then-insert.
 */
export function setSettingIfAbsent(db: Db, key: string, value: string): { value: string; inserted: boolean } {
  const inserted = db.prepare('INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run(key, value).changes === 1;
  return { value: inserted ? value : (getSetting(db, key) ?? value), inserted };
}
