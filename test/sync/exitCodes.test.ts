/**
 * The exit codes the README documents, for the commands that run over several accounts (the most
 * severe account outcome decides) and for the commands told to do nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { EXIT, mostSevereExit, exitCodeOfKind } from '../../src/errors.js';
import { syncExitCode } from '../../src/cli/commands/sync.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from './firm.js';

const dir = tempDir('crm-mail-exit-');
let firm: Firm;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { seed: 5, partners: 2, investors: 4, messages: 12, investorFraction: 0.5 } });
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

/** A copy of the emulator's key with the given mode. */
function keyWithMode(name: string, mode: number): string {
  const path = join(dir, name);
  copyFileSync(firm.env.CRM_GMAIL_SA_KEY_PATH!, path);
  chmodSync(path, mode);
  return path;
}

/** A key for the same service account signed with another private key: Google answers invalid_grant. */
function wrongKey(): string {
  const key = JSON.parse(readFileSync(firm.env.CRM_GMAIL_SA_KEY_PATH!, 'utf8')) as Record<string, unknown>;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const path = join(dir, 'wrong-key.json');
  writeFileSync(path, JSON.stringify({ ...key, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) }), { mode: 0o600 });
  return path;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the rule for multi-account commands', () => {
  it('the most severe account outcome decides: auth > configuration > permanent > not found > failure > unavailable', () => {
    expect(mostSevereExit([])).toBe(EXIT.ok);
    expect(mostSevereExit([0, 0])).toBe(EXIT.ok);
    expect(mostSevereExit([5, 1])).toBe(EXIT.failure);
    expect(mostSevereExit([5, 0, 5])).toBe(EXIT.transient);
    expect(mostSevereExit([1, 4, 5])).toBe(EXIT.auth);
    expect(mostSevereExit([9, 2])).toBe(EXIT.config);
    expect(mostSevereExit([7, 9])).toBe(EXIT.permanent);
    expect(mostSevereExit([6, 5])).toBe(EXIT.failure);
    expect(exitCodeOfKind('auth')).toBe(4);
    expect(exitCodeOfKind('transient')).toBe(5);
    expect(exitCodeOfKind('unexpected')).toBe(1);
    expect(exitCodeOfKind(undefined)).toBe(1);
    expect(syncExitCode([{ status: 'ok' }, { status: 'error', errorKind: 'transient' }], false)).toBe(5);
    expect(syncExitCode([{ status: 'ok' }, { status: 'error', errorKind: 'transient' }], true)).toBe(1);
    expect(syncExitCode([{ status: 'partial', errorKind: 'auth' }, { status: 'error', errorKind: 'transient' }], false)).toBe(4);
    expect(syncExitCode([{ status: 'ok' }], false)).toBe(0);
  });
});

describe('exit codes of sync and verify, end to end', () => {
  it('a mode-644 key: sync and verify exit 4 and name the chmod fix', async () => {
    const env = { ...firm.env, CRM_GMAIL_SA_KEY_PATH: keyWithMode('loose.json', 0o644) };
    const sync = await runCli(['sync', '--no-propose'], { env });
    expect(sync.code, sync.stdout + sync.stderr).toBe(EXIT.auth);
    expect(sync.stdout).toContain('chmod 600');
    const verify = await runCli(['verify'], { env });
    expect(verify.code, verify.stdout + verify.stderr).toBe(EXIT.auth);
    expect(verify.stdout).toContain('could not verify');
  });

  it('a key Google refuses (invalid_grant) exits 4', async () => {
    const result = await runCli(['sync', '--no-propose'], { env: { ...firm.env, CRM_GMAIL_SA_KEY_PATH: wrongKey(), CRM_GMAIL_RETRY_MAX: '0' } });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.auth);
    expect(result.stdout).toContain('invalid_grant');
  });

  it('a token endpoint that stays down exits 5', async () => {
    const env = { ...firm.env, CRM_GMAIL_TOKEN_URL: `http://127.0.0.1:${await closedPort()}/token`, CRM_GMAIL_RETRY_MAX: '0' };
    const result = await runCli(['sync', '--no-propose'], { env });
    expect(result.code, result.stdout + result.stderr).toBe(EXIT.transient);
    expect(result.stdout).toMatch(/token request for .*ECONNREFUSED/);
  });

  it('a healthy firm syncs and verifies with 0', async () => {
    expect((await runCli(['sync', '--no-propose'], { env: firm.env })).code).toBe(EXIT.ok);
    expect((await runCli(['verify'], { env: firm.env })).code).toBe(EXIT.ok);
  });
});

describe('commands told to do nothing', () => {
  it('uninstall without --yes exits 2 in the plain and the --json form, with one JSON document', async () => {
    const plain = await runCli(['uninstall'], { env: firm.env });
    expect(plain.code).toBe(EXIT.usage);
    const json = await runCli(['--json', 'uninstall'], { env: firm.env });
    expect(json.code).toBe(EXIT.usage);
    expect(JSON.parse(json.stdout)).toMatchObject({ dropped: false });
    expect(json.stderr).toContain('uninstall needs --yes');
  });
});
