/**
 * The two Gmail quota models as the benchmark uses them: the emulator metering a model at Gmail's
 * own per-user limit, crm-mail at its default budget for that model, and the quota-bound ideal a
 * backfill is measured against. The numbers come from crm-mail's own table (src/gmail/quotaModel.ts)
 * and are checked against the emulator's, so the two sides cannot drift apart unnoticed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type Emulator, type Scenario } from '../../src/emulator/index.js';
import { quotaBoundMs, quotaModel, type QuotaModelName } from '../../src/gmail/quotaModel.js';
import { parseJson, runCrmMailOk } from './crm-cli.js';

export type { QuotaModelName };

/** Both models, the one new Cloud projects get first. */
export const BENCH_MODELS: readonly QuotaModelName[] = ['2026', 'legacy'];

export interface ModelFacts {
  model: QuotaModelName;
  /** The per-user window: 60,000 ms (2026) or 1,000 ms (legacy). */
  windowMs: number;
  /** 'minute' or 'second', for labels. */
  per: 'minute' | 'second';
  /** Gmail's per-user limit per window: what the emulator meters (6,000 or 250). */
  gmailUserLimit: number;
  /** crm-mail's default per-account budget per window (5,400 or 150). */
  defaultBudget: number;
  /** The variable that sets that budget. */
  budgetVariable: 'CRM_GMAIL_RATE_UNITS_MIN' | 'CRM_GMAIL_RATE_UNITS_SEC';
  unitsPerGet: number;
  unitsPerList: number;
  unitsPerAttachment: number;
}

export function modelFacts(name: QuotaModelName): ModelFacts {
  const model = quotaModel(name);
  return {
    model: name,
    windowMs: model.windowMs,
    per: model.windowMs === 60_000 ? 'minute' : 'second',
    gmailUserLimit: model.gmailUserLimit,
    defaultBudget: model.defaultBudget,
    budgetVariable: name === '2026' ? 'CRM_GMAIL_RATE_UNITS_MIN' : 'CRM_GMAIL_RATE_UNITS_SEC',
    unitsPerGet: model.units['messages.get'],
    unitsPerList: model.units['messages.list'],
    unitsPerAttachment: model.units['messages.attachments.get'],
  };
}

/**
 * The quota-bound ideal of a backfill, in seconds: stored copies x units per messages.get, over the
 * budget per window, times the window (crm-mail's own quotaBoundMs). Listing and attachment units
 * are left out, and so is the idle account's first window (which may be spent at once).
 */
export function idealSeconds(facts: ModelFacts, budget: number, storedCopies: number): number {
  return quotaBoundMs(quotaModel(facts.model), budget, storedCopies) / 1000;
}

/**
 * The fastest any client could spend `units` from an idle account under a rolling window of
 * `budget` units: a full window at once, then one more window's worth each time the oldest spends
 * leave the window, so (ceil(units / budget) - 1) windows. A lower bound on the wall time of the
 * units the account really spent (listing and attachments included).
 */
export function spendFloorSeconds(facts: ModelFacts, budget: number, units: number): number {
  if (units <= 0) return 0;
  return (Math.max(0, Math.ceil(units / budget) - 1) * facts.windowMs) / 1000;
}

/** The emulator metering `model` at Gmail's own per-user limit (project limit at Gmail's default too). */
export async function startQuotaEmulator(scenario: Scenario, model: QuotaModelName): Promise<Emulator> {
  const facts = modelFacts(model);
  const emulator = await startEmulator({ scenario, quotaModel: model, quotaUnits: facts.gmailUserLimit });
  const served = emulator.quota;
  if (served.windowMs !== facts.windowMs || served.userUnitsPerWindow !== facts.gmailUserLimit || served.units['messages.get'] !== facts.unitsPerGet) {
    await emulator.stop();
    throw new Error(`the emulator's ${model} model (${served.userUnitsPerWindow} units per ${served.windowMs} ms, get ${served.units['messages.get']}) is not crm-mail's (${facts.gmailUserLimit} per ${facts.windowMs} ms, get ${facts.unitsPerGet})`);
  }
  return emulator;
}

/** The emulator with no quota at all: no per-user limit, no project limit. */
export function startUnmeteredEmulator(scenario: Scenario): Promise<Emulator> {
  return startEmulator({ scenario, quotaModel: 'legacy', quotaUnits: 0, projectUnitsPerMinute: 0 });
}

const lastHeavyUse = new WeakMap<Emulator, number>();

/** Records that the mailboxes' windows may now be full (after a backfill or a timed fetch). */
export function markQuotaBusy(emulator: Emulator): void {
  lastHeavyUse.set(emulator, performance.now());
}

/**
 * Lets every mailbox's rolling window empty since the last heavy use (61 s under 2026, 1.25 s
 * under legacy), then clears the counters, so the next measurement starts from idle accounts and
 * its peakWindowUnits is its own.
 */
export async function quietQuota(emulator: Emulator): Promise<void> {
  const last = lastHeavyUse.get(emulator);
  if (last !== undefined) {
    const wait = last + emulator.quota.windowMs + 250 - performance.now();
    if (wait > 0) await sleep(wait);
    lastHeavyUse.delete(emulator);
  }
  emulator.resetCounters();
}

/** The per-account budget crm-mail itself reports for this environment (`crm-mail --json config`). */
export async function effectiveBudget(env: Record<string, string>, facts: ModelFacts): Promise<{ budget: number; source: string }> {
  const run = await runCrmMailOk(['--json', 'config'], { env });
  const config = parseJson<{ variables: Array<{ name: string; value: string; source: string }> }>(run, 'crm-mail config');
  const model = config.variables.find((variable) => variable.name === 'CRM_GMAIL_QUOTA_MODEL');
  if (model?.value !== facts.model) throw new Error(`crm-mail runs the ${model?.value} quota model, the benchmark expected ${facts.model}`);
  const variable = config.variables.find((entry) => entry.name === facts.budgetVariable);
  const budget = Number(variable?.value);
  if (!(budget > 0)) throw new Error(`crm-mail config reports no ${facts.budgetVariable}`);
  return { budget, source: `${facts.budgetVariable}=${budget} (${variable!.source})` };
}
