import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, PROJECT_ROOT, runCli, unstamped } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { eml, failure, gmailFor } from './helpers.js';
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

/** Starts `crm-mail emulator ...` without --json; resolves with the banner once it says how to stop. */
async function startCliText(args: string[]) {
  const child = spawn(BIN, ['emulator', ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const banner: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      banner.push(unstamped(line));
      if (unstamped(line).startsWith('Press Ctrl+C')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
  });
  const stop = () => new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  return { banner, stop };
}

/** Enough of Emulator for the test client helper. */
const asEmu = (ready: { rootUrl: string; serviceAccountKeyFile: string }) => ready as unknown as Emulator;

describe('crm-mail emulator', () => {
  it('--scenario small --json prints exactly one ready line, serves the real client, stops on SIGTERM', async () => {
    const { ready, stop } = await startCli(['--scenario', 'small', '--port', '0']);
    expect(Object.keys(ready)).toEqual(['rootUrl', 'tokenUrl', 'domain', 'users', 'serviceAccountKeyFile', 'quotaModel']);
    expect(ready.quotaModel).toBe('2026');
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

  it('--quota-model, --quota and --project-quota set the metering; the banner says the model', async () => {
    const { ready, stop } = await startCli(['--scenario', 'small', '--quota-model', 'legacy', '--quota', '10', '--project-quota', '0', '--concurrency', '2']);
    expect(ready.quotaModel).toBe('legacy');
    expect(await (await fetch(`${ready.rootUrl}emulator/quota`)).json()).toMatchObject({ model: 'legacy', windowMs: 1000, userUnitsPerWindow: 10, projectUnitsPerMinute: 0, maxConcurrentPerUser: 2 });
    const client = gmailFor(asEmu(ready), ready.users[0], { retry: false });
    const id = (await client.users.messages.list({ userId: 'me', maxResults: 1 })).data.messages![0]!.id!;
    await client.users.messages.get({ userId: 'me', id, format: 'minimal' }); // 5 + 5 for the list: 10
    expect((await failure(client.users.messages.get({ userId: 'me', id, format: 'minimal' }))).status).toBe(429);
    expect((await stop('SIGTERM')).code).toBe(0);

    const text = await startCliText(['--scenario', 'small']);
    expect(text.banner).toContain('  quota:        2026 model, 6000 units/min per user, messages.get 20 units; project 1200000 units/min');
    expect(await text.stop()).toBe(0);
    const legacy = await startCliText(['--scenario', 'small', '--quota-model', 'legacy', '--quota', '0']);
    expect(legacy.banner).toContain('  quota:        legacy model, no per-user limit, messages.get 5 units; project 1200000 units/min');
    expect(await legacy.stop()).toBe(0);
  });

  it('refuses bad arguments with exit code 2 and a clear message', async () => {
    const model = await runCli(['emulator', '--scenario', 'small', '--quota-model', '2027']);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain('expected 2026 or legacy');
    const quota = await runCli(['emulator', '--scenario', 'small', '--quota', '-1']);
    expect(quota.code).toBe(2);
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
