/**
 * The emulator's own figures, for docs/emulator.md and the benchmark runner: messages.get
 * (format=raw) throughput with quota off, and the memory of the large (100,000-message) scenario.
 * The server runs in its own process (`crm-mail emulator`), so its CPU time and memory are its own;
 * "per server CPU-second" is the one-core capacity, independent of what else shares the machine.
 *
 *   node dist/src/emulator/measure.js [--scenario large] [--gets 20000] [--concurrency 16] [--json]
 */
import { spawn } from 'node:child_process';
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface EmulatorFigures {
  scenario: string;
  messages: number;
  startupMs: number;
  rssAfterStartMb: number;
  rssAfterTouchingAllMb: number;
  rawGets: number;
  rawGetsPerSecWall: number;
  rawGetsPerServerCpuSec: number;
  rawGetsPerSecWallWarm: number;
  rawGetsPerServerCpuSecWarm: number;
  concurrency: number;
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'crm-mail');

function procStatus(pid: number): { rssMb: number; cpuSec: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { rssMb: Math.round(rss), cpuSec: (Number(stat[11]) + Number(stat[12])) / 100 };
}

async function accessToken(info: { tokenUrl: string; serviceAccountKeyFile: string }, user: string): Promise<string> {
  const key = JSON.parse(readFileSync(info.serviceAccountKeyFile, 'utf8')) as { client_email: string; private_key: string };
  const now = Math.floor(Date.now() / 1000);
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256' })}.${part({ iss: key.client_email, sub: user, scope: 'https://www.googleapis.com/auth/gmail.readonly', aud: 'https://oauth2.googleapis.com/token', iat: now, exp: now + 3600 })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key).toString('base64url');
  const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` });
  const answer = (await (await fetch(info.tokenUrl, { method: 'POST', body })).json()) as { access_token: string };
  return answer.access_token;
}

export async function measureEmulator(options: { scenario?: string; gets?: number; concurrency?: number } = {}): Promise<EmulatorFigures> {
  const scenario = options.scenario ?? 'large';
  const concurrency = options.concurrency ?? 16;
  const started = performance.now();
  const child = spawn(BIN, ['--json', '--quiet', 'emulator', '--scenario', scenario, '--quota', '0', '--project-quota', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`emulator exited (${code})`)));
    });
    const startupMs = Math.round(performance.now() - started);
    const info = JSON.parse(line) as { rootUrl: string; tokenUrl: string; users: string[]; serviceAccountKeyFile: string };
    const pid = child.pid as number;
    const rssAfterStartMb = procStatus(pid).rssMb;
    const port = Number(new URL(info.rootUrl).port);
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const get = (token: string, path: string): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode} for ${path}`))));
          })
          .on('error', reject);
      });
    const idsOf = async (token: string): Promise<string[]> => {
      const ids: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = JSON.parse((await get(token, `/gmail/v1/users/me/messages?maxResults=500&includeSpamTrash=true${pageToken ? `&pageToken=${pageToken}` : ''}`)).toString()) as { messages?: Array<{ id: string }>; nextPageToken?: string };
        ids.push(...(page.messages ?? []).map((m) => m.id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      return ids;
    };
    const run = async (token: string, paths: string[]): Promise<{ wall: number; cpu: number }> => {
      const cpu0 = procStatus(pid).cpuSec;
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < paths.length) await get(token, paths[next++] as string);
        }),
      );
      return { wall: (performance.now() - t0) / 1000, cpu: Math.max(0.01, procStatus(pid).cpuSec - cpu0) };
    };
    // Throughput: cold (first read of each message) then warm, format=raw, on the first mailbox.
    const user = info.users[0] as string;
    const token = await accessToken(info, user);
    const ids = await idsOf(token);
    const gets = Math.min(options.gets ?? 20_000, ids.length);
    const rawPaths = ids.slice(0, gets).map((id) => `/gmail/v1/users/me/messages/${id}?format=raw`);
    const cold = await run(token, rawPaths);
    const warm = await run(token, rawPaths);
    // Memory: every message of every mailbox read once (search/snippet facts cached for all).
    let messages = ids.length;
    for (const other of info.users.slice(1)) {
      const t = await accessToken(info, other);
      const otherIds = await idsOf(t);
      messages += otherIds.length;
      await run(t, otherIds.map((id) => `/gmail/v1/users/me/messages/${id}?format=minimal`));
    }
    const rssAfterTouchingAllMb = procStatus(pid).rssMb;
    agent.destroy();
    return {
      scenario,
      messages,
      startupMs,
      rssAfterStartMb,
      rssAfterTouchingAllMb,
      rawGets: gets,
      rawGetsPerSecWall: Math.round(gets / cold.wall),
      rawGetsPerServerCpuSec: Math.round(gets / cold.cpu),
      rawGetsPerSecWallWarm: Math.round(gets / warm.wall),
      rawGetsPerServerCpuSecWarm: Math.round(gets / warm.cpu),
      concurrency,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const figures = await measureEmulator({ scenario: arg('--scenario'), gets: arg('--gets') ? Number(arg('--gets')) : undefined, concurrency: arg('--concurrency') ? Number(arg('--concurrency')) : undefined });
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(figures) + '\n');
  else {
    process.stdout.write(
      [
        `scenario ${figures.scenario}: ${figures.messages} messages, ready in ${figures.startupMs} ms`,
        `messages.get format=raw, quota off, ${figures.rawGets} gets x${figures.concurrency} connections:`,
        `  first read: ${figures.rawGetsPerSecWall}/s wall, ${figures.rawGetsPerServerCpuSec} per server CPU-second`,
        `  again:      ${figures.rawGetsPerSecWallWarm}/s wall, ${figures.rawGetsPerServerCpuSecWarm} per server CPU-second`,
        `server memory (RSS): ${figures.rssAfterStartMb} MB after start, ${figures.rssAfterTouchingAllMb} MB after reading every message`,
      ].join('\n') + '\n',
    );
  }
}
