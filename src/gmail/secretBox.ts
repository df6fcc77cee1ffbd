/**
 * Sealing of secrets at rest (OAuth refresh tokens): AES-256-GCM under CRM_GMAIL_SECRET_KEY, a
 * fresh random 12-byte nonce per seal, the 16-byte tag checked on open.
 *
 * Sealed text: `v1.<key id>.<nonce>.<ciphertext+tag>`, each part base64url. The key id is the first
 * 6 bytes of HMAC-SHA256(key, "crm-mail key id"): it reveals nothing about the key but lets `open`
 * tell "sealed under another key" (a configuration problem) from "altered" (tampering or
 * corruption). An optional context (the account's email) is bound in as additional authenticated
 * data, so a sealed token copied to another account's row does not open.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { AuthError, ConfigError } from '../errors.js';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new ConfigError('CRM_GMAIL_SECRET_KEY must decode to exactly 32 bytes (make one with: openssl rand -base64 32).');
  }
}

/** A short, non-secret fingerprint of the key, stored beside each sealed value. */
export function keyId(key: Buffer): string {
  checkKey(key);
  return createHmac('sha256', key).update('crm-mail key id').digest().subarray(0, 6).toString('base64url');
}

export function seal(plaintext: string, key: Buffer, context = ''): string {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(`${VERSION}|${context}`, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, keyId(key), nonce.toString('base64url'), body.toString('base64url')].join('.');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Opens a sealed value. A value sealed under another key is a ConfigError (the key changed); a value
 * that does not authenticate is an AuthError (altered, or bound to another account). Never returns
 * garbage.
 */
export function open(sealed: string, key: Buffer, context = ''): string {
  checkKey(key);
  const parts = typeof sealed === 'string' ? sealed.trim().split('.') : [];
  if (parts.length !== 4 || !parts.slice(1).every((part) => BASE64URL.test(part))) {
    throw new AuthError('the stored secret is not in a format crm-mail wrote (expected v1.<key>.<nonce>.<data>); it was altered or is not a sealed value.');
  }
  const [version, storedKeyId, nonceText, bodyText] = parts as [string, string, string, string];
  if (version !== VERSION) throw new AuthError(`the stored secret uses format ${JSON.stringify(version.slice(0, 8))}, which this crm-mail does not know.`);
  if (storedKeyId !== keyId(key)) {
    throw new ConfigError(
      'the stored secret was sealed under a different CRM_GMAIL_SECRET_KEY than the one configured now. ' +
        'Restore the original key, or run `crm-mail auth oauth <email>` again to store a new token under the current key.',
    );
  }
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw new AuthError('the stored secret is truncated or altered and cannot be opened.');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(`${VERSION}|${context}`, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new AuthError('the stored secret failed its integrity check: it was altered, or it belongs to another account. Run `crm-mail auth oauth <email>` again.');
  }
}
