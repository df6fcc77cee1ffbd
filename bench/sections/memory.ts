/**
 * Issue 9, item 4: peak resident memory of a single-account backfill (quota off), for a small and a
 * ten times larger mailbox in the same run, so flatness is a measured ratio. The sync runs as its own
 * process; its peak is the kernel's ru_maxrss reported at exit by a preload (see lib/peak-rss.ts).
 */
import { generateScenario } from '../../src/emulator/index.js';
import { runCrmMailOk, parseJson } from '../lib/crm-cli.js';
import { createFirm } from '../lib/firm.js';
import { startUnmeteredEmulator } from '../lib/quota.js';
import { UNMETERED_LABEL } from './backfill.js';
import { round, summarize, sum, type Summary } from '../lib/stats.js';

type Log = (line: string) => void;

export interface MemoryPoint {
  mailboxMessages: number;
  listed: number;
  /** Messages fetched (in full: search-found mail is fetched once, with no headers-first get). */
  fetched: number;
  stored: number;
  wallSeconds: Summary;
  peakRssMb: Summary;
  /** V8 heap still alive after a full GC at exit: what the run retained, as opposed to garbage not yet collected. */
  liveHeapAtExitMb: Summary;
}

export interface MemoryResult {
  scenario: string;
  repetitions: number;
  points: MemoryPoint[];
  /** Peak RSS of the largest mailbox over the smallest (medians). */
  growth: number;
}

interface SyncJson {
  accounts: Array<{ status: string; error: string | null; listed: number; fetched: number; stored: number }>;
}

export async function benchMemory(sizes: number[], repetitions: number, log: Log): Promise<MemoryResult> {
  const points: MemoryPoint[] = [];
  for (const size of sizes) {
    const scenario = generateScenario({ seed: 17, partners: 1, investors: 200, messages: size, investorFraction: 0.05 });
    const emulator = await startUnmeteredEmulator(scenario);
    try {
      const walls: number[] = [];
      const peaks: number[] = [];
      const live: number[] = [];
      let counts = { listed: 0, fetched: 0, stored: 0 };
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const firm = await createFirm(emulator, scenario, { quota: 'unmetered' });
        try {
          const run = await runCrmMailOk(['--json', 'sync', '--no-propose'], { env: firm.env, measureRss: true });
          const summary = parseJson<SyncJson>(run, 'crm-mail sync');
          const failed = summary.accounts.find((account) => account.status !== 'ok');
          if (failed) throw new Error(`memory backfill failed: ${failed.error}`);
          if (run.peakRssMb === undefined) throw new Error('the peak-RSS preload reported nothing');
          counts = {
            listed: sum(summary.accounts.map((a) => a.listed)),
            fetched: sum(summary.accounts.map((a) => a.fetched)),
            stored: sum(summary.accounts.map((a) => a.stored)),
          };
          walls.push(run.wallMs / 1000);
          peaks.push(run.peakRssMb);
          live.push(run.liveHeapAtExitMb ?? Number.NaN);
          log(
            `  ${size.toLocaleString('en-US')} messages, run ${repetition + 1}/${repetitions}: peak RSS ${round(run.peakRssMb, 1)} MB, ` +
              `live heap at exit ${round(run.liveHeapAtExitMb ?? Number.NaN, 1)} MB, ${round(run.wallMs / 1000)}s, stored ${counts.stored}`,
          );
        } finally {
          firm.remove();
        }
      }
      points.push({ mailboxMessages: scenario.mailboxes[scenario.partners[0]!.email]!.length, listed: counts.listed, fetched: counts.fetched, stored: counts.stored, wallSeconds: summarize(walls), peakRssMb: summarize(peaks, 1), liveHeapAtExitMb: summarize(live, 1) });
    } finally {
      await emulator.stop();
    }
  }
  return {
    scenario: `one partner, 200 investors, 5% investor mail (generateScenario seed 17); emulator quota off, crm-mail unmetered (${UNMETERED_LABEL}), default capture (matched)`,
    repetitions,
    points,
    growth: round(points[points.length - 1]!.peakRssMb.median / points[0]!.peakRssMb.median, 3),
  };
}
