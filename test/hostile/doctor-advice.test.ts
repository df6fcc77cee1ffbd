/**
 * Issue 17 item 11 (doctor): a broken key file's content never reaches the output (the JSON
 * parser's message quoted its first characters), and the --online token check advises from the
 * error Google gave, not from the auth method: a wrong OAuth client secret is a configuration fix
 * (no partner needs to consent again), a revoked consent is a new consent, a loose key file is a
 * chmod, a malformed key is a new key, refused delegation is the Admin console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { enroll, makeCrmDb, writeServiceAccountKey } from '../newcomer/setup.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { seal } from '../../src/gmail/secretBox.js';
import { openDatabase } from '../../src/db/open.js';
import { saveSealedRefreshToken } from '../../src/db/oauthTokens.js';

const root = tempDir('crm-mail-doctor-advice-');
const dbPath = join(root, 'crm.db');
const JANE = 'jane@northwind.vc';
const SECRET = 'QX7vSecretKeyMaterial9Zp';
const SEALING_KEY = Buffer.alloc(32, 7);
let emu: Emulator;

interface Check {
  name: string;
  level: string;
  message: string;
  fix?: string;
}

function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    CRM_GMAIL_INTEGRATION_ENABLED: 'true',
    CRM_GMAIL_WORKSPACE_DOMAIN: 'northwind.vc',
    CRM_GMAIL_ATTACHMENTS_DIR: join(root, 'attachments'),
    CRM_MAIL_DRAFTER: 'rule',
    CRM_DB_PATH: dbPath,
    CRM_GMAIL_TOKEN_URL: emu.tokenUrl,
    CRM_GMAIL_API_ROOT: emu.rootUrl,
    ...overrides,
  };
}

const oauthEnv = (secret: string): Record<string, string> =>
  baseEnv({ CRM_GMAIL_AUTH_METHOD: 'oauth', CRM_GMAIL_OAUTH_CLIENT_ID: 'crm-desktop', CRM_GMAIL_OAUTH_CLIENT_SECRET: secret, CRM_GMAIL_SECRET_KEY: SEALING_KEY.toString('base64') });

async function tokenCheck(env: Record<string, string>): Promise<Check> {
  const result = await runCli(['--json', 'doctor', '--online'], { env });
  const token = (JSON.parse(result.stdout) as Check[]).find((check) => check.name === 'token');
  if (!token) throw new Error(`no token check in ${result.stdout}\n${result.stderr}`);
  return token;
}

/** Every run's whole output, with no piece of the secret string of 6 characters or more in it. */
function expectNoSecret(result: CliResult): void {
  const output = result.stdout + result.stderr;
  for (let start = 0; start + 6 <= SECRET.length; start++) expect(output, `output holds ${SECRET.slice(start, start + 6)}`).not.toContain(SECRET.slice(start, start + 6));
}

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: { [JANE]: [] }, keyDir: join(root, 'emulator') });
  emu.registerOAuthClient('crm-desktop', 'right-secret');
  const db = await makeCrmDb(dbPath);
  enroll(db, 1, JANE);
  db.close();
});
afterAll(async () => emu?.stop());

describe('doctor and a broken key file', () => {
  it('never quotes the key file, in text or --json, offline or --online', async () => {
    const broken = join(root, 'broken-key.json');
    writeFileSync(broken, `${SECRET}{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----${SECRET}"}`);
    chmodSync(broken, 0o600);
    const env = baseEnv({ CRM_GMAIL_SA_KEY_PATH: broken });
    for (const args of [['doctor'], ['--json', 'doctor'], ['doctor', '--online'], ['--json', 'doctor', '--online']]) {
      const result = await runCli(args, { env });
      expect(result.code, result.stderr).toBe(1);
      expectNoSecret(result);
    }
    const offline = JSON.parse((await runCli(['--json', 'doctor'], { env })).stdout) as Check[];
    expect(offline.find((check) => check.name === 'credentials')).toMatchObject({ level: 'FAIL', message: expect.stringContaining('is not valid JSON') });
    const token = await tokenCheck(env);
    expect(token.level).toBe('FAIL');
    expect(token.fix).toMatch(/replace the key file/);
    expect(token.fix).not.toMatch(/Admin console|delegation/);
  });
});

describe('doctor --online advises from the actual error', () => {
  it('a key file readable by others: chmod 600, not delegation', async () => {
    const loose = join(root, 'loose-key.json');
    writeServiceAccountKey(loose, 0o644);
    const token = await tokenCheck(baseEnv({ CRM_GMAIL_SA_KEY_PATH: loose }));
    expect(token.level).toBe('FAIL');
    expect(token.fix).toBe(`chmod 600 ${loose}`);
  });

  it('delegation refused (unauthorized_client): the Admin console and the scope', async () => {
    emu.setDelegation(emu.serviceAccount.clientId, false);
    try {
      const token = await tokenCheck(baseEnv({ CRM_GMAIL_SA_KEY_PATH: emu.serviceAccountKeyFile }));
      expect(token.level).toBe('FAIL');
      expect(token.fix).toMatch(/Domain-wide delegation.*https:\/\/www\.googleapis\.com\/auth\/gmail\.readonly/);
    } finally {
      emu.setDelegation(emu.serviceAccount.clientId, true);
    }
  });

  it('a wrong OAuth client secret (invalid_client): fix the client id/secret in the configuration, no new consent', async () => {
    const db = openDatabase(dbPath);
    saveSealedRefreshToken(db, JANE, seal(emu.issueRefreshToken('crm-desktop', JANE), SEALING_KEY, JANE));
    db.close();
    expect((await tokenCheck(oauthEnv('right-secret'))).level).toBe('OK');
    const token = await tokenCheck(oauthEnv('wrong-secret'));
    expect(token.level).toBe('FAIL');
    expect(token.fix).toMatch(/CRM_GMAIL_OAUTH_CLIENT_ID.*CRM_GMAIL_OAUTH_CLIENT_SECRET/);
    expect(token.fix).not.toMatch(/consent/);
  });

  it('a revoked OAuth consent (invalid_grant): the partner consents again', async () => {
    const db = openDatabase(dbPath);
    saveSealedRefreshToken(db, JANE, seal('1//revoked-or-unknown-token', SEALING_KEY, JANE));
    db.close();
    const token = await tokenCheck(oauthEnv('right-secret'));
    expect(token.level).toBe('FAIL');
    expect(token.fix).toBe(`the partner consents again: crm-mail auth oauth ${JANE}`);
  });
});
