/**
 * `crm-mail auth oauth <email>` as a partner runs it: the compiled CLI prints the consent URL, a
 * browser (here: fetch) follows it to the emulator's consent page, which redirects to the CLI's
 * loopback receiver; the CLI stores the refresh token sealed. Needs dist/ (npx tsc -p .).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { findOAuthAccount } from '../../src/db/oauthTokens.js';
import { openDatabase } from '../../src/db/open.js';
import { BIN, PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { crmWithAccounts, JANE, mailbox, secretKeyBase64 } from './support.js';

const CLIENT_ID = 'cli-test.apps.googleusercontent.com';
const CLIENT_SECRET = 'GOCSPX-cli-secret';
let emu: Emulator;
const dir = tempDir('crm-mail-cli-auth-');

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: { [JANE]: mailbox(2) }, quotaUnitsPerSec: 0 });
  emu.registerOAuthClient(CLIENT_ID, CLIENT_SECRET);
});
afterAll(async () => {
  await emu?.stop();
});

function env(dbPath: string): Record<string, string> {
  return {
    CRM_DB_PATH: dbPath,
    CRM_GMAIL_INTEGRATION_ENABLED: 'true',
    CRM_GMAIL_WORKSPACE_DOMAIN: 'northwind.vc',
    CRM_GMAIL_AUTH_METHOD: 'oauth',
    CRM_GMAIL_OAUTH_CLIENT_ID: CLIENT_ID,
    CRM_GMAIL_OAUTH_CLIENT_SECRET: CLIENT_SECRET,
    CRM_GMAIL_SECRET_KEY: secretKeyBase64(),
    CRM_GMAIL_API_ROOT: emu.rootUrl,
    CRM_GMAIL_TOKEN_URL: emu.tokenUrl,
    NO_PROXY: '127.0.0.1,localhost',
  };
}

describe('crm-mail auth oauth', () => {
  it('consents through the loopback redirect and stores the token sealed', async () => {
    const { db, path } = await crmWithAccounts(dir, [{ email: JANE, authMethod: 'oauth' }]);
    db.close();
    const child = spawn(BIN, ['auth', 'oauth', JANE.toUpperCase()], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env(path) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const consentUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no consent URL printed; stderr: ${stderr}`)), 30_000);
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const match = stderr.match(/http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+/);
        if (match && stderr.includes('Waiting for the browser')) {
          clearTimeout(timer);
          resolve(match[0]);
        }
      });
    });
    const page = await fetch(consentUrl);
    expect(await page.text()).toContain('crm-mail received the consent');
    const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? -1)));
    expect(stderr).not.toMatch(/1\/\/[\w-]{10,}/);
    expect(code).toBe(0);
    expect(stdout).toContain(`${JANE}: consent stored`);
    expect(stdout).not.toMatch(/1\/\//);

    const check = openDatabase(path);
    const row = findOAuthAccount(check, JANE)!;
    expect(row.oauth_token_sealed).toMatch(/^v1\./);
    expect(row.status).toBe('active');
    check.close();
    expect(readFileSync(path).toString('latin1')).not.toMatch(/1\/\/[\w-]{20,}/);
  });

  it('--paste takes the code from stdin', async () => {
    const { db, path } = await crmWithAccounts(dir, [{ email: JANE, authMethod: 'oauth' }]);
    db.close();
    // The partner's browser: consent, then the redirect to a page that does not load, whose code is pasted.
    const consent = new URL('/o/oauth2/v2/auth', emu.rootUrl);
    consent.search = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1/oauth2callback', login_hint: JANE, scope: 'https://www.googleapis.com/auth/gmail.readonly', response_type: 'code' }).toString();
    const location = new URL((await fetch(consent, { redirect: 'manual' })).headers.get('location')!);
    const code = location.searchParams.get('code')!;
    const result = await runCli(['--json', 'auth', 'oauth', JANE, '--paste'], { env: env(path), input: code + '\n' });
    expect(result.stderr).toContain('paste it here');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ email: JANE, stored: true, authMethod: 'oauth', status: 'active' });
  });

  it('an account that is not enrolled is refused before any consent, with "enroll first"', async () => {
    const { db, path } = await crmWithAccounts(dir, []);
    db.close();
    const result = await runCli(['auth', 'oauth', 'someone@northwind.vc'], { env: env(path) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('enroll first');
    expect(result.stderr).not.toContain('o/oauth2');
  });

  it('without the secret key it says how to make one', async () => {
    const { db, path } = await crmWithAccounts(dir, [{ email: JANE, authMethod: 'oauth' }]);
    db.close();
    const { CRM_GMAIL_SECRET_KEY: _unused, ...rest } = env(path);
    const result = await runCli(['auth', 'oauth', JANE], { env: rest });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CRM_GMAIL_SECRET_KEY');
    expect(result.stderr).toContain('openssl rand -base64 32');
  });

  it('has help with examples', async () => {
    const result = await runCli(['auth', 'oauth', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('crm-mail auth oauth jane@firm.com --paste');
  });
});
