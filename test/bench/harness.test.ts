/**
 * The benchmark harness's own logic (not its figures): summaries, how a CPU profile is split into
 * stages, the peak-RSS preload, and the verdict on issue 9's targets. Timings are never asserted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatSummary, median, summarize } from '../../bench/lib/stats.js';
import { stageBreakdown } from '../../bench/lib/cpu-profile.js';
import { targetsOf } from '../../bench/report.js';
import { idealSeconds, modelFacts, spendFloorSeconds } from '../../bench/lib/quota.js';
import type { QuotaFigures } from '../../bench/run.js';
import type { Results } from '../../bench/run.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crm-mail-bench-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('summaries', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30, runs: [30, 10, 20] });
  });

  it('prints the spread only when the runs differ', () => {
    expect(formatSummary(summarize([100, 120, 140]), ' ms', 0)).toBe('120 ms (100-140)');
    expect(formatSummary(summarize([7]), ' ms', 0)).toBe('7 ms');
  });
});

describe('CPU profile stages', () => {
  const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url, scriptId: '0', lineNumber: 0, columnNumber: 0 }, hitCount: 0, children });

  it('gives each sample to the nearest frame of a known stage, and keeps idle apart', () => {
    const root = '/srv/crm-mail';
    const profile = {
      nodes: [
        frame(1, '(root)', '', [2, 6, 7]),
        frame(2, 'storeNewMessages', `file://${root}/dist/src/sync/storePage.js`, [3, 5]),
        frame(3, 'parse', `file://${root}/node_modules/mailparser/dist/esm/mail-parser.js`, [4]),
        frame(4, 'from', ''), // a builtin called by mailparser: parse
        frame(5, 'run', `file://${root}/node_modules/better-sqlite3/lib/methods/wrappers.js`),
        frame(6, '(idle)', ''),
        frame(7, '(garbage collector)', ''),
      ],
      startTime: 0,
      endTime: 0,
      // The time a sample stands for is the delta that follows it (microseconds).
      samples: [4, 4, 3, 5, 6, 2, 7, 1],
      timeDeltas: [0, 1000, 1000, 1000, 2000, 4000, 500, 300],
    };
    const dir = tempDir();
    const path = join(dir, 'run.cpuprofile');
    writeFileSync(path, JSON.stringify(profile));
    const stages = stageBreakdown(path);
    expect(stages.ms.parse).toBeCloseTo(3, 5); // two samples in the builtin + one in mailparser
    expect(stages.ms.sqlite).toBeCloseTo(2, 5);
    expect(stages.ms.idle).toBeCloseTo(4, 5);
    expect(stages.ms.sync).toBeCloseTo(0.5, 5);
    expect(stages.ms.gc).toBeCloseTo(0.3, 5);
    expect(stages.ms.other).toBe(0); // the last sample stands for no time
    expect(stages.dominant).toBe('parse');
    expect(stages.shareOfBusy.parse).toBeCloseTo(3 / 5.8, 5);
  });
});

describe('peak RSS preload', () => {
  it('reports the high-water mark of a process that touched 120 MB and freed it', () => {
    const preload = join(PROJECT_ROOT, 'dist', 'bench', 'lib', 'peak-rss.js');
    expect(existsSync(preload), 'run `npx tsc -p .` first: the preload is loaded from dist/').toBe(true);
    const file = join(tempDir(), 'rss.json');
    const script = 'let b = Buffer.alloc(120 * 1024 * 1024, 1); b = null; globalThis.gc?.();';
    const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { env: { ...process.env, NODE_OPTIONS: `--import=${preload}`, CRM_MAIL_BENCH_RSS_FILE: file } });
    expect(child.status).toBe(0);
    const usage = JSON.parse(readFileSync(file, 'utf8')) as { maxRssKb: number; cpuMs: number };
    expect(usage.maxRssKb / 1024).toBeGreaterThan(120);
    expect(usage.cpuMs).toBeGreaterThan(0);
  });
});

/** An empty results file, as the runner starts it: each verdict test fills in its own figures. */
const base = (): Results => ({
  suite: 'crm-mail benchmarks (issues 9, 12 and 16)',
  command: 'npm run bench',
  mode: 'full',
  startedAt: '2026-01-01T00:00:00.000Z',
  machine: { cpus: 2, cpuModel: 'x', memoryGb: 8, node: 'v20', platform: 'linux', loadAverageAtStart: [0, 0, 0] },
  plan: {} as Results['plan'],
  notMeasured: [],
});

describe('target verdicts', () => {

  it('says "not measured" for every target of a section that did not run', () => {
    const verdicts = targetsOf(base());
    expect(verdicts.map((target) => target.id)).toEqual([
      'backfill-ratio-2026',
      'units-per-copy-2026',
      'backfill-ratio-legacy',
      'quota-respected-2026',
      'quota-respected-legacy',
      'units-vs-naive',
      'local-ceiling',
      'noop-calls',
      'noop-wall',
      'rss-peak',
      'rss-flat',
      'rematch',
      'help',
      'investors-table',
      'investor-timeline',
      'search-rare',
      'search-common',
    ]);
    expect(verdicts.every((target) => target.verdict === 'not measured')).toBe(true);
  });

  it('judges the no-op target on the worst run and the startup target on the median', () => {
    const results = base();
    results.noop = {
      '2026': {
        model: '2026',
        accounts: 5,
        repetitions: 3,
        command: 'crm-mail sync',
        wallMs: summarize([1400, 1450, 1600], 0),
        apiCallsPerAccount: summarize([1, 1, 3]),
        unitsPerAccount: summarize([2, 2, 6]),
        apiCalls: summarize([5, 5, 15], 0),
        units: summarize([10, 10, 30], 0),
        byMethod: { 'history.list': 5 },
        refusedQuota: 0,
      },
    };
    results.startup = { repetitions: 3, help: summarize([250, 290, 400], 0), status: [] };
    const verdicts = Object.fromEntries(targetsOf(results).map((target) => [target.id, target.verdict]));
    expect(verdicts['noop-calls']).toBe('missed'); // one run needed 3 calls per account
    expect(verdicts['noop-wall']).toBe('met'); // median 1,450 ms
    expect(verdicts.help).toBe('met'); // median 290 ms
  });

  it("judges the relationship commands on their medians against issue 16's goals", () => {
    const results = base();
    const timing = (walls: number[], answered = 20) => ({ command: 'crm-mail', wallMs: summarize(walls, 0), answered });
    results.relationships = {
      storedMessages: 100_000,
      repetitions: 3,
      investors: timing([900, 950, 1400], 180),
      investor: { ...timing([280, 320, 330], 475), investorCopies: 475 },
      searchRare: { ...timing([150, 160, 170]), word: 'rare', messagesWithWord: 25 },
      searchCommon: { ...timing([290, 310, 320]), word: 'common', messagesWithWord: 100_000 },
      indexBytes: 10,
      databaseBytes: 100,
      indexShare: 0.1,
    };
    const verdicts = Object.fromEntries(targetsOf(results).map((target) => [target.id, target.verdict]));
    expect(verdicts['investors-table']).toBe('met'); // median 950 ms < 1 s
    expect(verdicts['investor-timeline']).toBe('missed'); // median 320 ms
    expect(verdicts['search-rare']).toBe('met');
    expect(verdicts['search-common']).toBe('missed'); // median 310 ms
  });

  it('calls peak RSS flat only when the large mailbox needs at most 10% more than the small one', () => {
    const results = base();
    const point = (messages: number, mb: number) => ({ mailboxMessages: messages, listed: 0, fetched: 0, stored: 0, wallSeconds: summarize([1]), peakRssMb: summarize([mb], 1), liveHeapAtExitMb: summarize([20], 1) });
    results.memory = { scenario: 's', repetitions: 1, points: [point(10_000, 150), point(100_000, 180)], growth: 1.2 };
    const verdicts = Object.fromEntries(targetsOf(results).map((target) => [target.id, target.verdict]));
    expect(verdicts['rss-peak']).toBe('met');
    expect(verdicts['rss-flat']).toBe('missed');
  });
});

describe('quota-bound ideal and spend floor', () => {
  it('prices the ideal at one get per stored copy over the budget, per window of the model', () => {
    const m2026 = modelFacts('2026');
    const legacy = modelFacts('legacy');
    expect(m2026.gmailUserLimit).toBe(6000);
    expect(m2026.defaultBudget).toBe(5400);
    expect(legacy.gmailUserLimit).toBe(250);
    expect(legacy.defaultBudget).toBe(150);
    // 1,620 copies x 20 units = 32,400 units = 6 minutes of 5,400.
    expect(idealSeconds(m2026, 5400, 1620)).toBeCloseTo(360, 6);
    // 1,620 copies x 5 units = 8,100 units = 54 seconds of 150.
    expect(idealSeconds(legacy, 150, 1620)).toBeCloseTo(54, 6);
  });

  it('lets an idle account spend one window at once, then one window per window', () => {
    const m2026 = modelFacts('2026');
    expect(spendFloorSeconds(m2026, 5400, 5400)).toBe(0);
    expect(spendFloorSeconds(m2026, 5400, 5401)).toBe(60);
    expect(spendFloorSeconds(m2026, 5400, 32_400)).toBe(300);
    expect(spendFloorSeconds(modelFacts('legacy'), 150, 8_100)).toBe(53);
  });
});

describe('quota verdicts', () => {
  const quota = (ratios: number[], unitsPerCopy: number[], peak: number, refused: number): QuotaFigures =>
    ({
      model: '2026',
      windowMs: 60_000,
      emulatorUserLimit: 6000,
      budget: 5400,
      budgetSource: 'CRM_GMAIL_RATE_UNITS_MIN=5400 (default)',
      unitsPerGet: 20,
      accountConcurrency: 5,
      repetitions: ratios.length,
      runs: [],
      perAccount: [{ account: 'a@x.vc', ratioToIdeal: summarize(ratios, 3), unitsPerStoredCopy: summarize(unitsPerCopy) }],
      firm: {
        worstRatioToIdeal: summarize(ratios, 3).median,
        medianRatioToIdeal: summarize(ratios, 3).median,
        unitsPerStoredCopy: summarize(unitsPerCopy),
        clientUnitsPerStoredCopy: summarize(unitsPerCopy),
        maxPeakWindowUnits: peak,
        refusedQuota: refused,
      },
    }) as unknown as QuotaFigures;

  it('judges the ratio on the slowest account, units per copy on the worst run, and the budget strictly', () => {
    const results = base();
    results.quota = { '2026': quota([1.1, 1.12], [20.5, 21.2], 5400, 0) };
    const verdicts = Object.fromEntries(targetsOf(results).map((target) => [target.id, target.verdict]));
    expect(verdicts['backfill-ratio-2026']).toBe('met');
    expect(verdicts['units-per-copy-2026']).toBe('missed'); // one run needed 21.2 units per copy
    expect(verdicts['quota-respected-2026']).toBe('met'); // the peak may reach the budget, not pass it
    expect(verdicts['backfill-ratio-legacy']).toBe('not measured');

    results.quota = { '2026': quota([1.2], [20.4], 5401, 0) };
    const again = Object.fromEntries(targetsOf(results).map((target) => [target.id, target.verdict]));
    expect(again['backfill-ratio-2026']).toBe('missed');
    expect(again['units-per-copy-2026']).toBe('met');
    expect(again['quota-respected-2026']).toBe('missed');

    results.quota = { '2026': quota([1.0], [20.4], 5000, 1) };
    expect(Object.fromEntries(targetsOf(results).map((target) => [target.id, target.verdict]))['quota-respected-2026']).toBe('missed');
  });
});
