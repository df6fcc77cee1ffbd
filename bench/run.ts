/**
 * `npm run bench`: crm-mail's performance figures (issues 9, 12 and 16), measured on this machine,
 * printed as tables and written to bench/results/<timestamp>.json and bench/results/latest.json.
 *
 *   npm run bench                      # the full suite (both quota models; about 22 minutes on 2 cores)
 *   npm run bench -- --quick           # a smaller firm and fewer repetitions, for a fast check
 *   npm run bench -- --only quota,noop # some sections only (quota, quota-single, noop, local,
 *                                      # pipeline, memory, rematch, startup, relationships, drafting)
 *   npm run bench -- --models 2026     # the quota sections under one model only (2026, legacy)
 *   npm run bench -- --only relationships  # issue 16's commands on the 100,000-copy store
 *
 * The quota sections run once per model: the emulator meters it at Gmail's own per-user limit
 * (2026: 6,000 units per rolling minute, gets 20; legacy: 250 units/s, gets 5) and crm-mail runs
 * at its DEFAULT budget for the model (5,400/min; 150/s). Everything runs on 127.0.0.1: the Gmail
 * emulator in this process, crm-mail as the real CLI in child processes, temporary folders for every
 * CRM file. With CRM_MAIL_MODEL set, drafting is also measured with that model.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { generateScenario, SCENARIOS, type Emulator, type ScenarioOptions } from '../src/emulator/index.js';
import { benchDrafting, type DraftingFigures } from './drafting.js';
import { benchPipeline, type PipelineFigures } from './pipeline.js';
import { PROJECT_ROOT } from './lib/crm-cli.js';
import { BENCH_MODELS, modelFacts, startQuotaEmulator, startUnmeteredEmulator, type QuotaModelName } from './lib/quota.js';
import { round, summarize, type Summary } from './lib/stats.js';
import { benchLocalCeiling, benchNoop, benchQuotaBackfill, type LocalCeilingResult, type NoopResult, type QuotaBackfillResult } from './sections/backfill.js';
import { benchMemory, type MemoryResult } from './sections/memory.js';
import { benchRelationships, type RelationshipsResult } from './sections/relationships.js';
import { benchRematch, benchStartup, buildStore, type RematchResult, type StartupResult, type Store } from './sections/rematch.js';
import type { Firm } from './lib/firm.js';
import { renderReport, targetsOf } from './report.js';

export const SECTIONS = ['quota', 'quota-single', 'noop', 'local', 'pipeline', 'memory', 'rematch', 'startup', 'relationships', 'drafting'] as const;
export type Section = (typeof SECTIONS)[number];

/** Sections of earlier versions of the suite, and what became of them. */
const RETIRED_SECTIONS: Record<string, string> = {
  'default-rate': "the quota section itself now runs at crm-mail's default budget for each model",
};

export interface Plan {
  mode: 'full' | 'quick';
  firm: ScenarioOptions & { name: string };
  /** The quota models the quota, quota-single and noop sections run under, in order. */
  models: QuotaModelName[];
  quotaRepetitions: Record<QuotaModelName, number>;
  /** Accounts synced at once (CRM_GMAIL_ACCOUNT_CONCURRENCY) in the quota runs: each account has its own quota. */
  accountConcurrency: number;
  /** Raw gets the naive baseline times per model; 0 = its wall time is the quota bound, not timed. */
  naiveSample: Record<QuotaModelName, number>;
  /** The model the one-account-alone run (quota-single) uses. */
  singleModel: QuotaModelName;
  localRepetitions: number;
  noopRepetitions: number;
  memorySizes: number[];
  memoryRepetitions: number;
  rematchStored: number;
  rematchDistinct: number;
  rematchRepetitions: number;
  startupRepetitions: number;
  relationshipRepetitions: number;
  draftingRepetitions: number;
}

/**
 * Full mode: SCENARIOS.large at 8,000 messages per mailbox, i.e. 5 mailboxes of about 8,000
 * messages with about 1,500-1,800 copies each found by the investor searches: under the 2026 model
 * that is 30,000-36,000 units of gets per account, 5.5-6.5 minutes of its 5,400-unit budget, so the
 * first minute's burst is a small part of the run.
 */
const FULL: Plan = {
  mode: 'full',
  firm: { name: 'SCENARIOS.large at 8,000 messages per mailbox', ...SCENARIOS.large, messages: 8_000 },
  models: [...BENCH_MODELS],
  quotaRepetitions: { '2026': 2, legacy: 2 },
  accountConcurrency: 5,
  naiveSample: { '2026': 0, legacy: 1000 },
  singleModel: 'legacy',
  localRepetitions: 2,
  noopRepetitions: 5,
  memorySizes: [10_000, 100_000],
  memoryRepetitions: 1,
  rematchStored: 100_000,
  rematchDistinct: 4_000,
  rematchRepetitions: 3,
  startupRepetitions: 10,
  relationshipRepetitions: 5,
  draftingRepetitions: 3,
};

/** Quick mode: 2,000 messages per mailbox; under 2026 a backfill that small is mostly the first minute's burst. */
const QUICK: Plan = {
  mode: 'quick',
  firm: { name: 'SCENARIOS.large at 2,000 messages per mailbox', ...SCENARIOS.large, messages: 2_000 },
  models: [...BENCH_MODELS],
  quotaRepetitions: { '2026': 1, legacy: 1 },
  accountConcurrency: 5,
  naiveSample: { '2026': 0, legacy: 150 },
  singleModel: 'legacy',
  localRepetitions: 1,
  noopRepetitions: 3,
  memorySizes: [2_000, 20_000],
  memoryRepetitions: 1,
  rematchStored: 20_000,
  rematchDistinct: 1_000,
  rematchRepetitions: 2,
  startupRepetitions: 5,
  relationshipRepetitions: 3,
  draftingRepetitions: 1,
};

export type QuotaFigures = Omit<QuotaBackfillResult, 'lastFirm'>;

export interface Results {
  suite: 'crm-mail benchmarks (issues 9, 12 and 16)';
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
  /** The backfill under each quota model (emulator at Gmail's limit, crm-mail at its default budget). */
  quota?: Partial<Record<QuotaModelName, QuotaFigures>>;
  /** The first account's backfill alone in its process, beside the five-at-once runs. */
  quotaSingle?: QuotaFigures;
  /** The no-op incremental run after each model's backfill. */
  noop?: Partial<Record<QuotaModelName, NoopResult>>;
  local?: LocalCeilingResult;
  pipeline?: PipelineFigures;
  memory?: MemoryResult;
  rematch?: RematchResult;
  startup?: StartupResult;
  relationships?: RelationshipsResult;
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

function selectedSections(): Set<Section> {
  if (process.argv.includes('--with-default-rate')) throw new Error(`--with-default-rate is gone: ${RETIRED_SECTIONS['default-rate']}`);
  const only = argValue('only');
  if (!only) return new Set<Section>(SECTIONS);
  const picked = only.split(',').map((name) => name.trim()).filter(Boolean);
  const retired = picked.filter((name) => name in RETIRED_SECTIONS);
  if (retired.length > 0) throw new Error(retired.map((name) => `section ${name} is gone: ${RETIRED_SECTIONS[name]}`).join('; '));
  const unknown = picked.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}`);
  return new Set(picked as Section[]);
}

/** --models 2026,legacy: the quota models the quota sections run under (default both). */
function selectedModels(plan: Plan): QuotaModelName[] {
  const text = argValue('models');
  if (!text) return plan.models;
  const picked = text.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = picked.filter((name) => !(BENCH_MODELS as readonly string[]).includes(name));
  if (unknown.length > 0 || picked.length === 0) throw new Error(`unknown quota model(s) ${unknown.join(', ')}; choose from ${BENCH_MODELS.join(', ')}`);
  return BENCH_MODELS.filter((model) => picked.includes(model));
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
  const base = process.argv.includes('--quick') ? QUICK : FULL;
  const plan: Plan = { ...base, models: selectedModels(base) };
  if (!plan.models.includes(plan.singleModel)) plan.singleModel = plan.models[0]!;
  const sections = selectedSections();
  const started = Date.now();
  const results: Results = {
    suite: 'crm-mail benchmarks (issues 9, 12 and 16)',
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
    // startup measures `status` on the synced firm when a quota section left one, else on the store only.
    const needsFirm = ['quota', 'quota-single', 'noop', 'local'].some((name) => sections.has(name as Section));
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

      if (sections.has('quota') || sections.has('quota-single') || sections.has('noop')) {
        for (const model of plan.models) {
          const facts = modelFacts(model);
          const emulator: Emulator = await startQuotaEmulator(scenario, model);
          let modelFirm: Firm | undefined;
          try {
            if (sections.has('quota') || sections.has('noop')) {
              const repetitions = sections.has('quota') ? plan.quotaRepetitions[model] : 1;
              log(
                `[${stamp()}] 1. backfill under the ${model} model: emulator ${facts.gmailUserLimit} units per ${facts.per} per user (get ${facts.unitsPerGet}), ` +
                  `crm-mail at its default budget, ${plan.accountConcurrency} accounts at once, ${repetitions} run(s)`,
              );
              const quota = await benchQuotaBackfill(
                emulator,
                scenario,
                {
                  model,
                  repetitions,
                  naive: sections.has('quota'),
                  naiveSample: plan.naiveSample[model],
                  keepLastFirm: true,
                  settings: { CRM_GMAIL_ACCOUNT_CONCURRENCY: String(plan.accountConcurrency) },
                },
                log,
              );
              modelFirm = quota.lastFirm;
              if (sections.has('quota')) (results.quota ??= {})[model] = strip(quota);
            }
            if (sections.has('noop') && modelFirm) {
              log(`[${stamp()}] 3. incremental with no new mail (${model} model): ${plan.noopRepetitions} runs`);
              (results.noop ??= {})[model] = await benchNoop(emulator, modelFirm, plan.noopRepetitions, log);
            }
            if (sections.has('quota-single') && model === plan.singleModel) {
              const account = scenario.partners[0]!.email;
              log(`[${stamp()}] 1a. the same backfill for ${account} alone (one account in the process, ${model} model), 1 run`);
              results.quotaSingle = strip(await benchQuotaBackfill(emulator, scenario, { model, repetitions: 1, account }, log));
            }
          } finally {
            await emulator.stop();
            // The first model's synced firm stays for the startup figures; the others go.
            if (modelFirm && !lastFirm) lastFirm = modelFirm;
            else modelFirm?.remove();
          }
        }
      }

      if (sections.has('local')) {
        const emulator = await startUnmeteredEmulator(scenario);
        try {
          log(`[${stamp()}] 2. local ceiling: quota off on both sides, ${plan.localRepetitions} run(s) + 1 profiled run`);
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

    if (sections.has('rematch') || sections.has('startup') || sections.has('relationships')) {
      log(`[${stamp()}] 5. store of ${plan.rematchStored.toLocaleString('en-US')} messages for rematch, status and the relationship commands`);
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

    if (sections.has('relationships') && store) {
      log(`[${stamp()}] 5b. relationship commands on the store: ${plan.relationshipRepetitions} runs each`);
      results.relationships = await benchRelationships(store, plan.relationshipRepetitions, log);
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

  if (sections.has('quota')) {
    for (const model of BENCH_MODELS) if (!plan.models.includes(model)) results.notMeasured.push(`the backfill under the ${model} quota model (left out by --models)`);
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
