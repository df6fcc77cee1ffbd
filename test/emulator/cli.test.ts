import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { eml, gmailFor } from './helpers.js';
import type { Emulator } from '../../src/emulator/index.js';

/** Starts `crm-mail --json emulator ...`, resolves with its ready line and a stop function. */
async function startCli(args: string[]) {
  const child = spawn(BIN, ['--json', 'emulator', ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited early (${code}): ${stderr}`)));
  });
  const more: string[] = [];
  lines.on('line', (l) => more.push(l));
  const stop = (signal: NodeJS.Signals) =>
    new Promise<{ code: number | null; more: string[] }>((resolve) => {
      child.once('exit', (code) => resolve({ code, more }));
      child.kill(signal);
    });
  return { ready: JSON.parse(first), stop };
}

/** Enough of Emulator for the test client helper. */
const asEmu = (ready: { rootUrl: string; serviceAccountKeyFile: string }) => ready as unknown as Emulator;

describe('crm-mail emulator', () => {
  it('--scenario small --json prints exactly one ready line, serves the real client, stops on SIGTERM', async () => {
    const { ready, stop } = await startCli(['--scenario', 'small', '--port', '0']);
    expect(Object.keys(ready)).toEqual(['rootUrl', 'tokenUrl', 'domain', 'users', 'serviceAccountKeyFile']);
    expect(ready.rootUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(ready.tokenUrl).toBe(`${ready.rootUrl}token`);
    expect(ready.domain).toBe('northwind.vc');
    expect(ready.users).toHaveLength(3);
    expect(statSync(ready.serviceAccountKeyFile).mode & 0o777).toBe(0o600);
    const profile = await gmailFor(asEmu(ready), ready.users[0]).users.getProfile({ userId: 'me' });
    expect(profile.data.messagesTotal).toBeGreaterThanOrEqual(100);
    const busy = await runCli(['emulator', '--scenario', 'small', '--port', new URL(ready.rootUrl).port]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain('already in use');
    const { code, more } = await stop('SIGTERM');
    expect(code).toBe(0);
    expect(more).toEqual([]);
    expect(existsSync(ready.serviceAccountKeyFile)).toBe(false);
  });

  it('--mailbox EMAIL=DIR serves the .eml files byte for byte; SIGINT stops it', async () => {
    const dir = tempDir();
    const box = join(dir, 'ann');
    mkdirSync(box);
    const raws = [eml({ From: 'lp@fund.com', To: 'ann@firm.example', Subject: 'One', Date: 'Mon, 02 Mar 2026 09:00:00 +0000' }, 'first\r\n'), eml({ From: 'lp@fund.com', To: 'ann@firm.example', Subject: 'Two', Date: 'Tue, 03 Mar 2026 09:00:00 +0000' }, 'second\r\n')];
    raws.forEach((raw, i) => writeFileSync(join(box, `m${i}.eml`), raw));
    writeFileSync(join(box, 'notes.txt'), 'ignored');
    const { ready, stop } = await startCli(['--mailbox', `ann@firm.example=${box}`, '--quota', '0', '--history-retention', '2']);
    expect(ready.users).toEqual(['ann@firm.example']);
    expect(ready.domain).toBe('firm.example');
    const client = gmailFor(asEmu(ready), 'ann@firm.example');
    const list = (await client.users.messages.list({ userId: 'me' })).data;
    expect(list.messages).toHaveLength(2);
    const newest = (await client.users.messages.get({ userId: 'me', id: list.messages![0]!.id!, format: 'raw' })).data;
    expect(Buffer.from(newest.raw!, 'base64url').equals(raws[1]!)).toBe(true);
    expect(newest.internalDate).toBe(String(Date.UTC(2026, 2, 3, 9)));
    expect((await stop('SIGINT')).code).toBe(0);
  });

  it('refuses bad arguments with exit code 2 and a clear message', async () => {
    const both = await runCli(['emulator', '--scenario', 'small', '--mailbox', 'a@b.c=/tmp']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --mailbox or --scenario');
    const unknown = await runCli(['emulator', '--scenario', 'huge']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('expected small, medium or large');
    const missing = await runCli(['emulator', '--mailbox', 'a@b.c=/no/such/dir']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read mailbox folder /no/such/dir');
    const rate = await runCli(['emulator', '--scenario', 'small', '--faults', '2']);
    expect(rate.code).toBe(2);
  });
});
