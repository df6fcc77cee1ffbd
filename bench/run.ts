/**
 * `npm run bench`: crm-mail's performance figures (issue 9), measured on this machine, printed as a
 * table and written to bench/results/<timestamp>.json and bench/results/latest.json.
 *
 *   npm run bench                      # the full suite (the firm of issue 9; takes a while)
 *   npm run bench -- --quick           # a smaller firm and fewer repetitions, for a fast check
 *   npm run bench -- --only quota,noop # some sections only (quota, quota-single, noop, default-rate,
 *                                      # local, pipeline, memory, rematch, startup, drafting)
 *   npm run bench -- --with-default-rate   # full mode: also the backfill at crm-mail's default
 *                                          # CRM_GMAIL_RATE_UNITS_SEC=150 (quick mode always runs it)
 *
 * Everything runs on 127.0.0.1: the Gmail emulator in this process, crm-mail as the real CLI in
 * child processes, temporary folders for every CRM file. With CRM_MAIL_MODEL set, drafting is also
 * measured with that model.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { generateScenario, SCENARIOS, startEmulator, type Emulator, type ScenarioOptions } from '../src/emulator/index.js';
import { benchDrafting, type DraftingFigures } from './drafting.js';
import { benchPipeline, type PipelineFigures } from './pipeline.js';
import { PROJECT_ROOT } from './lib/crm-cli.js';
import { round, summarize, type Summary } from './lib/stats.js';
import { GMAIL_UNITS_PER_SEC, benchLocalCeiling, benchNoop, benchQuotaBackfill, type LocalCeilingResult, type NoopResult, type QuotaBackfillResult } from './sections/backfill.js';
import { benchMemory, type MemoryResult } from './sections/memory.js';
import { benchRematch, benchStartup, buildStore, type RematchResult, type StartupResult, type Store } from './sections/rematch.js';
import type { Firm } from './lib/firm.js';
import { renderReport, targetsOf } from './report.js';

export const SECTIONS = ['quota', 'quota-single', 'noop', 'default-rate', 'local', 'pipeline', 'memory', 'rematch', 'startup', 'drafting'] as const;
export type Section = (typeof SECTIONS)[number];

export interface Plan {
  mode: 'full' | 'quick';
  firm: ScenarioOptions & { name: string };
  quotaRepetitions: number;
  /** Accounts synced at once (CRM_GMAIL_ACCOUNT_CONCURRENCY) in the quota runs: each account has its own quota. */
  accountConcurrency: number;
  /** Also run the quota backfill at crm-mail's default rate (150 units/s); 0 = only with --with-default-rate. */
  defaultRateRepetitions: number;
  naiveSample: number;
  localRepetitions: number;
  noopRepetitions: number;
  memorySizes: number[];
  memoryRepetitions: number;
  rematchStored: number;
  rematchDistinct: number;
  rematchRepetitions: number;
  startupRepetitions: number;
  draftingRepetitions: number;
}

const FULL: Plan = {
  mode: 'full',
  firm: { name: 'SCENARIOS.large', ...SCENARIOS.large },
  quotaRepetitions: 2,
  accountConcurrency: 5,
  defaultRateRepetitions: 0,
  naiveSample: 1000,
  localRepetitions: 2,
  noopRepetitions: 5,
  memorySizes: [10_000, 100_000],
  memoryRepetitions: 1,
  rematchStored: 100_000,
  rematchDistinct: 4_000,
  rematchRepetitions: 3,
  startupRepetitions: 10,
  draftingRepetitions: 3,
};

const QUICK: Plan = {
  mode: 'quick',
  firm: { name: 'SCENARIOS.large at 2,000 messages per mailbox', ...SCENARIOS.large, messages: 2_000 },
  quotaRepetitions: 1,
  accountConcurrency: 5,
  defaultRateRepetitions: 1,
  naiveSample: 150,
  localRepetitions: 1,
  noopRepetitions: 3,
  memorySizes: [2_000, 20_000],
  memoryRepetitions: 1,
  rematchStored: 20_000,
  rematchDistinct: 1_000,
  rematchRepetitions: 2,
  startupRepetitions: 5,
  draftingRepetitions: 1,
};

export interface Results {
  suite: 'crm-mail benchmarks (issue 9)';
  command: string;
  mode: Plan['mode'];
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    platform: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd?: number[];
  };
  plan: Plan;
  firm?: { description: string; partners: number; investors: number; mailboxMessages: Record<string, number>; investorMessages: Record<string, number> };
  quota?: Omit<QuotaBackfillResult, 'lastFirm'>;
  /** The first account's backfill alone in its process, beside the five-at-once runs. */
  quotaSingle?: Omit<QuotaBackfillResult, 'lastFirm'>;
  defaultRate?: Omit<QuotaBackfillResult, 'lastFirm'>;
  noop?: NoopResult;
  local?: LocalCeilingResult;
  pipeline?: PipelineFigures;
  memory?: MemoryResult;
  rematch?: RematchResult;
  startup?: StartupResult;
  drafting?: { repetitions: number; tiny: DraftingSummary; custom?: DraftingSummary & { modelPath: string } };
  notMeasured: string[];
  targets?: ReturnType<typeof targetsOf>;
}

export interface DraftingSummary {
  modelBytes: number;
  modelLoadMs: Summary;
  notesPerSec: Summary;
  inputTokensPerNote: number;
  outputTokensPerNote: number;
  llamaProposalsPerSec: Summary;
  llamaProposeMs: Summary;
  ruleProposalsPerSec: Summary;
  runs: DraftingFigures[];
}

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index >= 0) return process.argv[index + 1];
  const inline = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return inline?.slice(name.length + 3);
}

function selectedSections(plan: Plan): Set<Section> {
  const only = argValue('only');
  if (!only) {
    const all = new Set<Section>(SECTIONS);
    if (plan.defaultRateRepetitions === 0 && !process.argv.includes('--with-default-rate')) all.delete('default-rate');
    return all;
  }
  const picked = only.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = picked.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}`);
  return new Set(picked as Section[]);
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const stamp = (): string => new Date().toISOString().slice(11, 19);

function strip<T extends { lastFirm?: Firm }>(result: T): Omit<T, 'lastFirm'> {
  const { lastFirm: _ignored, ...rest } = result;
  return rest;
}

function summarizeDrafting(runs: DraftingFigures[]): DraftingSummary {
  const last = runs[runs.length - 1]!;
  return {
    modelBytes: last.modelBytes,
    modelLoadMs: summarize(runs.flatMap((run) => run.modelLoadMs), 0),
    notesPerSec: summarize(runs.map((run) => run.notesPerSecond)),
    inputTokensPerNote: last.inputTokensPerNote,
    outputTokensPerNote: last.outputTokensPerNote,
    llamaProposalsPerSec: summarize(runs.map((run) => run.llamaProposeCandidates / (run.llamaProposeMs / 1000))),
    llamaProposeMs: summarize(runs.map((run) => run.llamaProposeMs), 0),
    ruleProposalsPerSec: summarize(runs.map((run) => run.ruleProposePerSecond), 0),
    runs,
  };
}

async function main(): Promise<void> {
  const plan = process.argv.includes('--quick') ? QUICK : FULL;
  const sections = selectedSections(plan);
  const started = Date.now();
  const results: Results = {
    suite: 'crm-mail benchmarks (issue 9)',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: plan.mode,
    startedAt: new Date(started).toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: round(totalmem() / 1024 ** 3, 1),
      node: process.version,
      platform: `${process.platform} ${release()}`,
      loadAverageAtStart: loadavg().map((value) => round(value)),
    },
    plan,
    notMeasured: [],
  };
  log(`crm-mail benchmarks, ${plan.mode} mode: ${results.machine.cpus} cores, ${results.machine.memoryGb} GB, load average ${results.machine.loadAverageAtStart.join(' ')}`);

  let lastFirm: Firm | undefined;
  let store: Store | undefined;
  try {
    // startup measures `status` on the synced firm when the quota section left one, else on the store only.
    const needsFirm = ['quota', 'quota-single', 'noop', 'default-rate', 'local'].some((name) => sections.has(name as Section));
    if (needsFirm) {
      const { name, ...options } = plan.firm;
      log(`[${stamp()}] generating the firm (${name})`);
      const scenario = generateScenario(options);
      results.firm = {
        description: `${name}: ${JSON.stringify(options)}`,
        partners: scenario.partners.length,
        investors: scenario.investors.length,
        mailboxMessages: Object.fromEntries(scenario.partners.map((partner) => [partner.email, scenario.mailboxes[partner.email]!.length])),
        investorMessages: Object.fromEntries(scenario.partners.map((partner) => [partner.email, scenario.truth[partner.email]!.filter((entry) => entry.investorIds.length > 0).length])),
      };

      if (sections.has('quota') || sections.has('quota-single') || sections.has('noop') || sections.has('default-rate')) {
        const emulator: Emulator = await startEmulator({ scenario, quotaUnitsPerSec: GMAIL_UNITS_PER_SEC });
        try {
          if (sections.has('quota') || sections.has('noop')) {
            const repetitions = sections.has('quota') ? plan.quotaRepetitions : 1;
            log(`[${stamp()}] 1. backfill under quota: emulator ${GMAIL_UNITS_PER_SEC} units/s per user, CRM_GMAIL_RATE_UNITS_SEC=${GMAIL_UNITS_PER_SEC}, ${repetitions} run(s)`);
            const quota = await benchQuotaBackfill(
              emulator,
              scenario,
              {
                rateUnitsPerSec: GMAIL_UNITS_PER_SEC,
                quotaUnitsPerSec: GMAIL_UNITS_PER_SEC,
                repetitions,
                naiveSample: sections.has('quota') ? plan.naiveSample : undefined,
                keepLastFirm: true,
                settings: { CRM_GMAIL_ACCOUNT_CONCURRENCY: String(plan.accountConcurrency) },
              },
              log,
            );
            lastFirm = quota.lastFirm;
            if (sections.has('quota')) results.quota = strip(quota);
          }
          if (sections.has('quota-single')) {
            const account = scenario.partners[0]!.email;
            log(`[${stamp()}] 1. the same backfill for ${account} alone (one account in the process), 1 run`);
            results.quotaSingle = strip(
              await benchQuotaBackfill(emulator, scenario, { rateUnitsPerSec: GMAIL_UNITS_PER_SEC, quotaUnitsPerSec: GMAIL_UNITS_PER_SEC, repetitions: 1, account }, log),
            );
          }
          if (sections.has('noop') && lastFirm) {
            log(`[${stamp()}] 3. incremental with no new mail: ${plan.noopRepetitions} runs`);
            results.noop = await benchNoop(emulator, lastFirm, plan.noopRepetitions, log);
          }
          if (sections.has('default-rate')) {
            const repetitions = Math.max(1, plan.defaultRateRepetitions);
            log(`[${stamp()}] 1b. backfill under quota with crm-mail's default CRM_GMAIL_RATE_UNITS_SEC=150: ${repetitions} run(s)`);
            results.defaultRate = strip(
              await benchQuotaBackfill(
                emulator,
                scenario,
                { rateUnitsPerSec: 150, quotaUnitsPerSec: GMAIL_UNITS_PER_SEC, repetitions, settings: { CRM_GMAIL_ACCOUNT_CONCURRENCY: String(plan.accountConcurrency) } },
                log,
              ),
            );
          }
        } finally {
          await emulator.stop();
        }
      }

      if (sections.has('local')) {
        const emulator = await startEmulator({ scenario, quotaUnitsPerSec: 0 });
        try {
          log(`[${stamp()}] 2. local ceiling: quota off, ${plan.localRepetitions} run(s) + 1 profiled run`);
          results.local = await benchLocalCeiling(emulator, scenario, { repetitions: plan.localRepetitions, profile: true }, log);
        } finally {
          await emulator.stop();
        }
      }
    }

    if (sections.has('pipeline')) {
      log(`[${stamp()}] 2b. pipeline stages in isolation (bench/pipeline.ts)`);
      try {
        results.pipeline = await benchPipeline();
      } catch (error) {
        results.notMeasured.push(`pipeline stages in isolation: ${(error as Error).message}`);
      }
    }

    if (sections.has('memory')) {
      log(`[${stamp()}] 4. memory: single-account backfill of ${plan.memorySizes.map((size) => size.toLocaleString('en-US')).join(' and ')} messages, quota off`);
      results.memory = await benchMemory(plan.memorySizes, plan.memoryRepetitions, log);
    }

    if (sections.has('rematch') || sections.has('startup')) {
      log(`[${stamp()}] 5. store of ${plan.rematchStored.toLocaleString('en-US')} messages for rematch and status`);
      store = await buildStore(plan.rematchStored, plan.rematchDistinct, log);
    }
    if (sections.has('rematch') && store) {
      log(`[${stamp()}] 5. rematch after adding 100 investors: ${plan.rematchRepetitions} runs`);
      results.rematch = await benchRematch(store, plan.rematchRepetitions, log, { profile: true });
    }
    if (sections.has('startup')) {
      log(`[${stamp()}] 5. startup: ${plan.startupRepetitions} runs each`);
      const databases: Array<{ label: string; env: Record<string, string> }> = [];
      if (lastFirm) databases.push({ label: `the synced firm (${results.firm?.partners} accounts)`, env: lastFirm.env });
      if (store) databases.push({ label: `${store.stored.toLocaleString('en-US')} stored messages`, env: store.env });
      results.startup = await benchStartup(databases, plan.startupRepetitions, log);
    }

    if (sections.has('drafting')) {
      log(`[${stamp()}] 6. drafting: ${plan.draftingRepetitions} run(s) of bench/drafting.ts`);
      const tiny: DraftingFigures[] = [];
      for (let repetition = 0; repetition < plan.draftingRepetitions; repetition++) tiny.push(await benchDrafting((line) => log(`  ${line}`)));
      results.drafting = { repetitions: plan.draftingRepetitions, tiny: summarizeDrafting(tiny) };
      const custom = process.env.CRM_MAIL_MODEL;
      if (custom) {
        const runs: DraftingFigures[] = [];
        for (let repetition = 0; repetition < plan.draftingRepetitions; repetition++) {
          runs.push(await benchDrafting((line) => log(`  ${line}`), { modelPath: custom, threads: Number(process.env.CRM_MAIL_MODEL_THREADS ?? cpus().length) }));
        }
        results.drafting.custom = { modelPath: custom, ...summarizeDrafting(runs) };
      } else {
        results.notMeasured.push('drafting with CRM_MAIL_MODEL: not set in this run (only the generated tiny model and the rule drafter were measured)');
      }
    }
  } finally {
    lastFirm?.remove();
    store?.remove();
  }

  if (!sections.has('default-rate') && sections.has('quota')) {
    results.notMeasured.push("the backfill at crm-mail's default CRM_GMAIL_RATE_UNITS_SEC=150 (add --with-default-rate; quick mode runs it)");
  }
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  results.machine.loadAverageAtEnd = loadavg().map((value) => round(value));
  results.targets = targetsOf(results);

  const dir = join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  const file = join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  process.stdout.write(renderReport(results));
  process.stdout.write(`\nResults: ${file} (and bench/results/latest.json); ${results.durationSeconds}s in all.\n`);
}


main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
