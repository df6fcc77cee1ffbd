/**
 * Sovereignty: drafting makes no network connection. propose runs with the real node-llama-cpp
 * and the tiny model in a child process whose every non-loopback connection and name lookup is
 * refused and recorded by a preload (helpers/no-network.mjs). The guard itself is checked first,
 * so the test would fail if it stopped catching connections. Where the machine allows it
 * (`unshare -rn`: Linux user + network namespaces), the same run is repeated in a namespace with
 * no network interface but a downed loopback, which no JavaScript can get around.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/open.js';
import { tempDir } from '../helpers/tmp.js';
import { BIN, PROJECT_ROOT, runClean } from '../helpers/cli.js';
import { DAY, janeToAnn, makeWorld, tinyModel } from './helpers/world.js';

const GUARD = join(PROJECT_ROOT, 'test', 'activity', 'helpers', 'no-network.mjs');
const NOW = Date.parse('2026-11-20T12:00:00Z');

function entries(log: string): Array<{ kind: string; target: string }> {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { kind: string; target: string });
}

/** Refused connection attempts recorded by the guard. */
function attempts(log: string): Array<{ kind: string; target: string }> {
  return entries(log).filter((entry) => entry.kind !== 'guard-loaded');
}

/** How many processes ran crm-mail under the guard. */
function guardedRuns(log: string): number {
  return entries(log).filter((entry) => entry.kind === 'guard-loaded' && /crm-mail\.js$/.test(entry.target)).length;
}

describe('sovereign drafting: no network', () => {
  const dir = tempDir();
  const modelPath = tinyModel(dir);

  it('the guard refuses and records non-loopback connections, lookups and fetches, and lets loopback through', async () => {
    const server = createServer((socket) => socket.end('hello from loopback'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const log = join(dir, 'guard-check.log');
    const script = `
      const net = require('node:net'); const dns = require('node:dns');
      const outcomes = [];
      const tryConnect = (host) => new Promise((resolve) => {
        const socket = net.connect({ host, port: 80 });
        socket.on('connect', () => { outcomes.push('connected ' + host); socket.destroy(); resolve(); });
        socket.on('error', (error) => { outcomes.push('refused ' + host + ' ' + error.code); resolve(); });
      });
      (async () => {
        await tryConnect('10.255.255.1');
        await new Promise((resolve) => dns.lookup('example.com', (error) => { outcomes.push('lookup ' + (error ? error.code : 'ok')); resolve(); }));
        await fetch('http://93.184.216.34/').then(() => outcomes.push('fetched'), (error) => outcomes.push('fetch refused'));
        const local = await new Promise((resolve) => { let text = ''; net.connect(${port}, '127.0.0.1').on('data', (d) => text += d).on('end', () => resolve(text)).on('error', (e) => resolve('error ' + e.code)); });
        outcomes.push('loopback: ' + local);
        console.log(JSON.stringify(outcomes));
      })();`;
    const result = await runClean(process.execPath, ['--import', GUARD, '-e', script], { env: { NO_NETWORK_LOG: log } });
    server.close();
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['refused 10.255.255.1 ENETUNREACH', 'lookup ENETUNREACH', 'fetch refused', 'loopback: hello from loopback']);
    expect(attempts(log).map((item) => item.kind)).toEqual(['connect', 'dns.lookup', 'fetch']);
  });

  it('propose with the real model drafts every note while all outbound connections are refused, and attempts none', async () => {
    const dbPath = join(dir, 'sovereign.db');
    const world = await makeWorld(dbPath);
    world.db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', ?)").run(new Date(NOW).toISOString());
    for (let index = 0; index < 3; index++) janeToAnn(world, `s${index}@x`, NOW + (index + 1) * DAY);
    world.db.close();

    const log = join(dir, 'propose.log');
    writeFileSync(log, '');
    // NODE_OPTIONS carries the preload into the node that bin/crm-mail (a shell wrapper) starts.
    const env = { NO_NETWORK_LOG: log, NODE_OPTIONS: `--import=${GUARD}`, CRM_MAIL_MODEL: modelPath, CRM_MAIL_MODEL_THREADS: '1' };
    const result = await runClean(BIN, ['propose', '--json', '--db', dbPath], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ drafter: 'llama', model: 'tiny.gguf', proposed: 3, failed: 0 });
    expect(guardedRuns(log)).toBe(1);
    expect(attempts(log)).toEqual([]);

    // Stronger still where the kernel allows an unprivileged network namespace: no interface at all.
    const namespaces = spawnSync('unshare', ['-rn', 'true']).status === 0;
    if (namespaces) {
      const db = openDatabase(dbPath);
      db.prepare('DELETE FROM email_activity_proposals').run();
      db.close();
      const isolated = await runClean('unshare', ['-rn', BIN, 'propose', '--json', '--db', dbPath], { env });
      expect(isolated.code, isolated.stderr).toBe(0);
      expect(JSON.parse(isolated.stdout)).toMatchObject({ drafter: 'llama', proposed: 3 });
      expect(guardedRuns(log)).toBe(2);
      expect(attempts(log)).toEqual([]);
    }
    const db = openDatabase(dbPath);
    expect(db.prepare("SELECT count(*) AS n FROM email_activity_proposals WHERE drafter = 'llama' AND status = 'pending'").get()).toEqual({ n: 3 });
    db.close();
  });
});
