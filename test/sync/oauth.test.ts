import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { BIN, runCli, unstamped } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-oauth-');
let firm: Firm;
let env: Record<string, string>;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 9, partners: 2 } });
  firm.emu.registerOAuthClient('crm-mail-desktop', 'desktop-secret');
  env = { ...firm.env, CRM_GMAIL_OAUTH_CLIENT_ID: 'crm-mail-desktop', CRM_GMAIL_OAUTH_CLIENT_SECRET: 'desktop-secret', CRM_GMAIL_SECRET_KEY: randomBytes(32).toString('base64') };
});
afterAll(async () => firm?.stop());

/** Runs `enroll EMAIL --auth oauth` and plays the browser: opens the printed consent URL and follows its redirect. */
function enrollWithConsent(email: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['enroll', email, '--auth', 'oauth'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    let browsed = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', async (chunk) => {
      stderr += chunk;
      const url = unstamped(stderr).match(/^\s+(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\S+)/m)?.[1];
      if (!url || browsed || !stderr.includes('Waiting for the browser')) return;
      browsed = true;
      const consent = await fetch(url, { redirect: 'manual' });
      const location = consent.headers.get('location');
      if (location) await fetch(location).catch(() => undefined);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('enroll --auth oauth', () => {
  it('runs the consent flow, stores the refresh token sealed, and the account syncs with it', async () => {
    const [oauthPartner, dwdPartner] = firm.scenario.partners.map((partner) => partner.email.toLowerCase());
    const enrolled = await enrollWithConsent(oauthPartner!);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.stdout).toContain(`added    ${oauthPartner}`);
    expect(enrolled.stdout).not.toContain('needs consent');
    expect((await runCli(['enroll', dwdPartner!], { env })).code).toBe(0);
    const db = firm.open();
    const row = db.prepare('SELECT auth_method, status, oauth_token_sealed FROM email_accounts WHERE email = ?').get(oauthPartner) as { auth_method: string; status: string; oauth_token_sealed: string };
    db.close();
    expect(row).toMatchObject({ auth_method: 'oauth', status: 'active' });
    expect(row.oauth_token_sealed.length).toBeGreaterThan(40);

    // One run, two auth methods: the OAuth account through its refresh token, the other through delegation.
    const result = await runCli(['--json', 'sync', '--no-propose'], { env });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { accounts: Array<{ account: string; status: string; stored: number }> };
    expect(summary.accounts.map((account) => account.status)).toEqual(['ok', 'ok']);
    expect(summary.accounts.every((account) => account.stored > 0)).toBe(true);
  });

  it('refuses oauth enrollment while the integration is off', async () => {
    const result = await runCli(['enroll', firm.scenario.partners[0]!.email, '--auth', 'oauth'], { env: { ...env, CRM_GMAIL_INTEGRATION_ENABLED: 'false' } });
    expect(result.code).toBe(3);
  });
});
