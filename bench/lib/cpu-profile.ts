/**
 * Reads a V8 CPU profile (node --cpu-prof) of a crm-mail process and splits its time into the
 * pipeline's stages. Each sample goes to the stage of the nearest frame on its stack that belongs to
 * a known stage (so a Buffer builtin called by mailparser counts as parse, a native better-sqlite3
 * call under src/db counts as SQLite); samples with no such frame are "other".
 */
import { readFileSync } from 'node:fs';

export type Stage = 'parse' | 'match' | 'sqlite' | 'http' | 'attachments' | 'sync' | 'cli' | 'gc' | 'idle' | 'other';

export const STAGE_LABELS: Record<Stage, string> = {
  parse: 'parse (mailparser, src/mail incl. its address helpers)',
  match: 'match (src/match)',
  sqlite: 'SQLite (better-sqlite3, src/db, capture)',
  http: 'HTTP client (gaxios, googleapis, auth, src/gmail, node http)',
  attachments: 'attachment files (src/attachments: hash, write)',
  sync: 'sync engine (src/sync)',
  cli: 'CLI and startup (commander, src/cli, module loading)',
  gc: 'garbage collector',
  idle: 'idle (waiting for the emulator / timers)',
  other: 'other (node runtime, unattributed native)',
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const RULES: Array<[Stage, RegExp]> = [
  ['parse', /\/node_modules\/(mailparser|libmime|libqp|libbase64|iconv-lite|encoding-japanese|html-to-text|he|linkify-it|tlds|punycode\.js|@zone-eu\/mailsplit|mailsplit|nodemailer|@selderee|selderee|htmlparser2|domhandler|domutils|dom-serializer|entities|leac|parseley|peberminta|deepmerge)\/|\/dist\/src\/mail\//],
  ['match', /\/dist\/src\/match\//],
  ['sqlite', /\/node_modules\/better-sqlite3\/|\/dist\/src\/db\/|\/dist\/src\/(capture|threads)\.js/],
  ['attachments', /\/dist\/src\/attachments\.js/],
  ['http', /\/node_modules\/(gaxios|googleapis-common|@googleapis|google-auth-library|gtoken|gcp-metadata|jws|jwa|node-fetch|https-proxy-agent|agent-base|extend|qs|url-template|uuid|ecdsa-sig-formatter|buffer-equal-constant-time|bignumber\.js|json-bigint)\/|\/dist\/src\/gmail\/|^node:(_http|http|https|net|tls|zlib|dns)/],
  ['sync', /\/dist\/src\/sync\//],
  ['cli', /\/node_modules\/(commander|cli-table3|string-width|strip-ansi|@inquirer)\/|\/dist\/src\/cli\/|\/bin\/crm-mail\.js|\/dist\/src\/config\.js|node:internal\/modules\//],
];

function stageOfFrame(frame: ProfileNode['callFrame']): Stage | undefined {
  if (frame.functionName === '(garbage collector)') return 'gc';
  if (frame.functionName === '(idle)') return 'idle';
  if (!frame.url) return undefined;
  for (const [stage, pattern] of RULES) if (pattern.test(frame.url)) return stage;
  return undefined;
}

export interface StageBreakdown {
  totalMs: number;
  /** Milliseconds per stage. */
  ms: Record<Stage, number>;
  /** Share of the busy time (total minus idle), 0..1, per stage other than idle. */
  shareOfBusy: Partial<Record<Stage, number>>;
  /** The busy stage with the most time. */
  dominant: Stage;
  /** Heaviest functions by self time (for the curious), url shortened to the package or src path. */
  topFunctions: Array<{ name: string; where: string; ms: number }>;
}

function shortUrl(url: string): string {
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) return url.slice(nodeModules + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url || '(native)';
}

export function stageBreakdown(path: string): StageBreakdown {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageCache = new Map<number, Stage>();
  const stageOf = (id: number): Stage => {
    const cached = stageCache.get(id);
    if (cached) return cached;
    const chain: number[] = [];
    let current: number | undefined = id;
    let found: Stage = 'other';
    while (current !== undefined) {
      const known = stageCache.get(current) ?? stageOfFrame(byId.get(current)!.callFrame);
      if (known) {
        found = known;
        break;
      }
      chain.push(current);
      current = parent.get(current);
    }
    for (const link of chain) stageCache.set(link, found);
    stageCache.set(id, found);
    return found;
  };

  const ms: Record<Stage, number> = { parse: 0, match: 0, sqlite: 0, http: 0, attachments: 0, sync: 0, cli: 0, gc: 0, idle: 0, other: 0 };
  const selfMs = new Map<number, number>();
  let totalMs = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
    const us = profile.timeDeltas[index + 1] ?? 0;
    const id = profile.samples[index]!;
    const value = us / 1000;
    ms[stageOf(id)] += value;
    selfMs.set(id, (selfMs.get(id) ?? 0) + value);
    totalMs += value;
  }
  const busy = totalMs - ms.idle;
  const shareOfBusy: Partial<Record<Stage, number>> = {};
  let dominant: Stage = 'other';
  for (const stage of Object.keys(ms) as Stage[]) {
    if (stage === 'idle') continue;
    shareOfBusy[stage] = busy > 0 ? ms[stage] / busy : 0;
    if (ms[stage] > ms[dominant]) dominant = stage;
  }
  const byFunction = new Map<string, { name: string; where: string; ms: number }>();
  for (const [id, value] of selfMs) {
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName}|${frame.url}`;
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where: shortUrl(frame.url), ms: 0 };
    entry.ms += value;
    byFunction.set(key, entry);
  }
  const topFunctions = [...byFunction.values()]
    .filter((entry) => entry.name !== '(idle)')
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 12)
    .map((entry) => ({ ...entry, ms: Math.round(entry.ms) }));
  return { totalMs, ms, shareOfBusy, dominant, topFunctions };
}
