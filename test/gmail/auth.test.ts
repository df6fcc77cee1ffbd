/**
 * Credentials against the emulator's token endpoint, with the real google-auth-library: DWD token
 * exchange and caching, key-file permissions, the admin's delegation message, the OAuth consent
 * round trip and the sealed refresh token in the database.
 */
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createDwdCredentials, createOAuthCredentials, credentialsFromConfig, GMAIL_READONLY_SCOPE } from '../../src/gmail/auth.js';
import { GmailAccountClient } from '../../src/gmail/client.js';
import { parsePastedCode, runOAuthConsent, storeRefreshToken } from '../../src/gmail/oauthConsent.js';
import { findOAuthAccount } from '../../src/db/oauthTokens.js';
import { AuthError, ConfigError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { BOB, crmWithAccounts, emulatorConfig, JANE, mailbox, secretKeyBase64 } from './support.js';

const OUTSIDER = 'carol@northwind.vc';
const CLIENT_ID = 'crm-mail-test.apps.googleusercontent.com';
const CLIENT_SECRET = 'GOCSPX-test-secret-value';

let emu: Emulator;
const dir = tempDir('crm-mail-gmail-auth-');

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: { [JANE]: mailbox(30), [BOB]: mailbox(3, 100), [OUTSIDER]: mailbox(1, 200) }, quotaUnitsPerSec: 0 });
  emu.registerOAuthClient(CLIENT_ID, CLIENT_SECRET);
});
afterAll(async () => {
  await emu?.stop();
});

function accountClient(user: string, credentials: ReturnType<typeof createDwdCredentials>): GmailAccountClient {
  return new GmailAccountClient({ user, credentials, apiRoot: emu.rootUrl, unitsPerSec: 100_000, retryMax: 2, retryBaseMs: 5 });
}

describe('domain-wide delegation', () => {
  it('exchanges one token per user and reuses it for many calls', async () => {
    const credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
    expect(credentials.method).toBe('dwd');
    const gmail = accountClient(JANE, credentials);
    const ids = emu.messageIds(JANE);
    // Concurrent first calls must not race into several token requests.
    await Promise.all([gmail.getProfile(), gmail.getProfile(), ...ids.slice(0, 20).map((id) => gmail.getMessage(id, 'minimal'))]);
    await gmail.getMessages(ids, 'minimal');
    expect(credentials.tokenRequests).toBe(1);
    expect(gmail.stats().calls).toBe(52);
    await accountClient(BOB, credentials).getProfile();
    expect(credentials.tokenRequests).toBe(2);
    const token = await credentials.accessToken(JANE);
    expect(token).toMatch(/^ya29\./);
    expect(credentials.tokenRequests).toBe(2);
  });

  it('refuses a key file readable by group or others, saying chmod 600 (an auth error: exit 4)', () => {
    const loose = join(dir, 'loose-key.json');
    copyFileSync(emu.serviceAccountKeyFile, loose);
    chmodSync(loose, 0o644);
    expect(() => createDwdCredentials({ keyFile: loose })).toThrow(AuthError);
    expect(() => createDwdCredentials({ keyFile: loose })).toThrow(`chmod 600 ${loose}`);
    chmodSync(loose, 0o600);
    expect(() => createDwdCredentials({ keyFile: loose })).not.toThrow();
    expect(() => createDwdCredentials({ keyFile: join(dir, 'missing.json') })).toThrow(/cannot read the service-account key file/);
  });

  it('delegation not granted: an auth error that tells the admin what to authorize, naming client id and scope', async () => {
    const { clientId } = emu.serviceAccount;
    emu.setDelegation(clientId, false, [BOB]);
    try {
      const credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
      const gmail = accountClient(BOB, credentials);
      const error = (await gmail.getProfile().catch((e: unknown) => e)) as AuthError;
      expect(error).toBeInstanceOf(AuthError);
      expect(error.exitCode).toBe(4);
      expect(error.message).toContain('Admin console');
      expect(error.message).toContain(`client ID ${clientId}`);
      expect(error.message).toContain(GMAIL_READONLY_SCOPE);
      expect(error.message).toContain(BOB);
      // A refused token is not retried and costs no Gmail call.
      expect(credentials.tokenRequests).toBe(1);
      expect(gmail.stats().calls).toBe(0);
      const key = JSON.parse(readFileSync(emu.serviceAccountKeyFile, 'utf8')) as { private_key: string };
      expect(error.message).not.toContain(key.private_key.slice(40, 80));
    } finally {
      emu.setDelegation(clientId, true);
    }
  });

  it('invalid_grant for a user that is not in the domain names the user', async () => {
    const credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: emu.tokenUrl });
    const error = (await credentials.accessToken('nobody@northwind.vc').catch((e: unknown) => e)) as AuthError;
    expect(error).toBeInstanceOf(AuthError);
    expect(error.reason).toBe('invalid_grant');
    expect(error.message).toContain('nobody@northwind.vc');
  });

  it('an unreachable token endpoint is a transient error, retried by our policy then reported', async () => {
    const credentials = createDwdCredentials({ keyFile: emu.serviceAccountKeyFile, tokenUrl: 'http://127.0.0.1:9/token' });
    const error = (await credentials.accessToken(JANE).catch((e: unknown) => e)) as AuthError;
    expect(error.kind).toBe('transient');
    expect(credentials.tokenRequests).toBe(1);
  });
});

describe('OAuth fallback', () => {
  async function enrolled(extra: Record<string, string> = {}) {
    const key = secretKeyBase64();
    const config = emulatorConfig(emu, {
      CRM_GMAIL_AUTH_METHOD: 'oauth',
      CRM_GMAIL_OAUTH_CLIENT_ID: CLIENT_ID,
      CRM_GMAIL_OAUTH_CLIENT_SECRET: CLIENT_SECRET,
      CRM_GMAIL_SECRET_KEY: key,
      ...extra,
    });
    const crm = await crmWithAccounts(dir, [{ email: JANE, authMethod: 'oauth' }, { email: BOB, authMethod: 'oauth' }]);
    return { config, ...crm };
  }

  /** The browser: follows the consent page's redirect to crm-mail's loopback receiver. */
  const browser = async (url: string) => {
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('crm-mail received the consent');
  };

  it('consent round trip on a loopback redirect; the refresh token is stored sealed, never in clear', async () => {
    const { config, db, path } = await enrolled();
    const lines: string[] = [];
    const token = await runOAuthConsent({ config, email: JANE, out: { info: (text) => lines.push(text) }, openUrl: browser });
    expect(token).toMatch(/^1\/\//);
    const consentUrl = new URL(lines.join('\n').match(/http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+/)![0]);
    expect(consentUrl.searchParams.get('scope')).toBe(GMAIL_READONLY_SCOPE);
    expect(consentUrl.searchParams.get('access_type')).toBe('offline');
    expect(consentUrl.searchParams.get('login_hint')).toBe(JANE);
    expect(consentUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(new URL(consentUrl.searchParams.get('redirect_uri')!).hostname).toBe('127.0.0.1');
    expect(lines.join('\n')).not.toContain(token);

    storeRefreshToken(db, JANE, token, config.secretKey!);
    const row = findOAuthAccount(db, JANE)!;
    expect(row.auth_method).toBe('oauth');
    expect(row.oauth_token_sealed).toMatch(/^v1\./);
    expect(row.oauth_token_sealed).not.toContain(token);
    db.close();
    expect(readFileSync(path).includes(Buffer.from(token))).toBe(false);

    // The sync's path: credentials from the configuration read and open the sealed token.
    const { openDatabase } = await import('../../src/db/open.js');
    const again = openDatabase(path);
    const credentials = credentialsFromConfig(config, { db: again });
    expect(credentials.method).toBe('oauth');
    const gmail = new GmailAccountClient({ user: JANE, credentials, apiRoot: emu.rootUrl, unitsPerSec: 1000, retryMax: 1 });
    expect((await gmail.getProfile()).emailAddress).toBe(JANE);
    expect(credentials.tokenRequests).toBe(1);
    again.close();
  });

  it('a tampered sealed token and a wrong key are refused with clear errors', async () => {
    const { config, db } = await enrolled();
    storeRefreshToken(db, JANE, emu.issueRefreshToken(CLIENT_ID, JANE), config.secretKey!);
    const sealed = findOAuthAccount(db, JANE)!.oauth_token_sealed!;
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[2] = body[2]! ^ 0x40;
    db.prepare('UPDATE email_accounts SET oauth_token_sealed = ? WHERE email = ?').run([...parts.slice(0, 3), body.toString('base64url')].join('.'), JANE);
    const tampered = await credentialsFromConfig(config, { db }).accessToken(JANE).catch((e: unknown) => e);
    expect(tampered).toBeInstanceOf(AuthError);
    expect((tampered as Error).message).toMatch(/integrity check/);

    storeRefreshToken(db, JANE, emu.issueRefreshToken(CLIENT_ID, JANE), config.secretKey!);
    const otherKey = emulatorConfig(emu, {
      CRM_GMAIL_AUTH_METHOD: 'oauth',
      CRM_GMAIL_OAUTH_CLIENT_ID: CLIENT_ID,
      CRM_GMAIL_OAUTH_CLIENT_SECRET: CLIENT_SECRET,
      CRM_GMAIL_SECRET_KEY: secretKeyBase64(),
    });
    const wrong = await credentialsFromConfig(otherKey, { db }).accessToken(JANE).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ConfigError);
    expect((wrong as Error).message).toMatch(/different CRM_GMAIL_SECRET_KEY/);

    // A sealed token copied onto another account's row does not open there.
    db.prepare('UPDATE email_accounts SET oauth_token_sealed = (SELECT oauth_token_sealed FROM email_accounts WHERE email = ?) WHERE email = ?').run(JANE, BOB);
    await expect(credentialsFromConfig(config, { db }).accessToken(BOB)).rejects.toBeInstanceOf(AuthError);
    db.close();
  });

  it('a revoked refresh token marks the account needs_consent and says to run crm-mail auth oauth', async () => {
    const { config, db } = await enrolled();
    const refresh = emu.issueRefreshToken(CLIENT_ID, BOB);
    storeRefreshToken(db, BOB, refresh, config.secretKey!);
    emu.revokeRefreshToken(refresh);
    const credentials = credentialsFromConfig(config, { db });
    const gmail = new GmailAccountClient({ user: BOB, credentials, apiRoot: emu.rootUrl, unitsPerSec: 1000, retryMax: 3, retryBaseMs: 5 });
    const error = (await gmail.getProfile().catch((e: unknown) => e)) as AuthError;
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toContain(`crm-mail auth oauth ${BOB}`);
    expect(error.message).not.toContain(refresh);
    expect(findOAuthAccount(db, BOB)!.status).toBe('needs_consent');
    expect(credentials.tokenRequests).toBe(1);
    // A fresh consent makes the account active again.
    storeRefreshToken(db, BOB, emu.issueRefreshToken(CLIENT_ID, BOB), config.secretKey!);
    expect(findOAuthAccount(db, BOB)!.status).toBe('active');
    db.close();
  });

  it('paste mode: the pasted redirect URL is exchanged the same way', async () => {
    const { config, db } = await enrolled();
    let consentUrl = '';
    const token = await runOAuthConsent({
      config,
      email: BOB,
      out: { info: () => undefined },
      openUrl: (url) => void (consentUrl = url),
      readPasted: async () => {
        const answer = await fetch(consentUrl, { redirect: 'manual' });
        return answer.headers.get('location')!;
      },
    });
    expect(token).toMatch(/^1\/\//);
    expect(parsePastedCode('4/abc', BOB)).toEqual({ code: '4/abc', state: null });
    expect(() => parsePastedCode('http://127.0.0.1/cb?error=access_denied', BOB)).toThrow(/did not grant access/);
    db.close();
  });

  it('consent for the wrong mailbox is refused', async () => {
    const { config, db } = await enrolled();
    // The partner signs in as someone else: the consent page hands out a code for the outsider.
    const browserAsOutsider = async (url: string) => {
      const wrong = new URL(url);
      wrong.searchParams.set('login_hint', OUTSIDER);
      await fetch(wrong);
    };
    await expect(runOAuthConsent({ config, email: JANE, out: { info: () => undefined }, openUrl: browserAsOutsider })).rejects.toThrow(
      `the consent was given by ${OUTSIDER}, not ${JANE}`,
    );
    db.close();
  });

  it('storing a token for an account that is not enrolled says to enroll first', async () => {
    const { config, db } = await enrolled();
    expect(() => storeRefreshToken(db, 'new.partner@northwind.vc', 'token', config.secretKey!)).toThrow(UsageError);
    expect(() => storeRefreshToken(db, 'new.partner@northwind.vc', 'token', config.secretKey!)).toThrow(/enroll first/);
    db.close();
  });

  it('a provider with no stored consent asks for it', async () => {
    const credentials = createOAuthCredentials({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenUrl: emu.tokenUrl, refreshTokenFor: () => '' });
    await expect(credentials.accessToken(JANE)).rejects.toThrow(`crm-mail auth oauth ${JANE}`);
  });
});
