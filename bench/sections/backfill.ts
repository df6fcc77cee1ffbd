/**
 * Issues 9 and 12: the backfill of a generated firm under each Gmail quota model, the naive baseline
 * beside it, the local ceiling with the quota off (with a CPU profile of where the time goes), and
 * the incremental run with no new mail. crm-mail always runs as the real CLI in its own process
 * (`crm-mail --json sync`); the emulator serves it from this process on 127.0.0.1, metering the
 * model at Gmail's own per-user limit while crm-mail runs at its default budget for that model.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { Emulator, Scenario } from '../../src/emulator/index.js';
import { createDwdCredentials } from '../../src/gmail/auth.js';
import { GmailAccountClient } from '../../src/gmail/client.js';
import { CrmMailError } from '../../src/errors.js';
import { openDatabase } from '../../src/db/open.js';
import { parseJson, runCrmMailOk } from '../lib/crm-cli.js';
import { stageBreakdown, type StageBreakdown } from '../lib/cpu-profile.js';
import { createFirm, type Firm } from '../lib/firm.js';
import { effectiveBudget, idealSeconds, markQuotaBusy, modelFacts, quietQuota, spendFloorSeconds, type ModelFacts, type QuotaModelName } from '../lib/quota.js';
import { round, summarize, sum, type Summary } from '../lib/stats.js';

type Log = (line: string) => void;

/** One account as `crm-mail --json sync` reports it. */
interface SyncAccountJson {
  account: string;
  status: string;
  kind: string;
  durationMs: number;
  listed: number;
  fetched: number;
  stored: number;
  matched: number;
  attachmentsStored?: number;
  apiCalls: number;
  apiUnits: number;
  retries: number;
  throttled: number;
  error: string | null;
  details?: Record<string, unknown>;
}

interface SyncJson {
  ran: boolean;
  ok: boolean;
  accounts: SyncAccountJson[];
}

export interface AccountBackfill {
  account: string;
  mailboxMessages: number;
  /** The account's own run as crm-mail reports it (accounts run side by side, each on its own quota). */
  wallSeconds: number;
  listed: number;
  fetched: number;
  stored: number;
  /** Investor messages in the mailbox, by the scenario's ground truth (investors in From/To/Cc). */
  investorMessagesInMailbox: number;
  /** Stored copies that are investor mail by the ground truth, and those that are not (newsletters...). */
  storedInvestor: number;
  storedOther: number;
  /** As charged by the emulator's quota meter (what Google would count); refused calls excluded. */
  apiCalls: number;
  units: number;
  /** crm-mail's own counts, to cross-check the emulator's. */
  clientCalls: number;
  clientUnits: number;
  messagesGet: number;
  messagesList: number;
  attachmentsGet: number;
  /** Units by method, as the emulator charged them. */
  unitsByMethod: Record<string, number>;
  /** Calls the emulator refused for quota (per-user or per-project), and refused for any reason. */
  refusedQuota: number;
  refused: number;
  retries: number;
  throttled: number;
  /** The most units the emulator charged this mailbox inside any one rolling window of the model. */
  peakWindowUnits: number;
  unitsPerStoredCopy: number;
  clientUnitsPerStoredCopy: number;
  /** Units per stored copy that is investor mail by the ground truth. */
  unitsPerStoredInvestorMessage: number;
  /** Quota-bound ideal: stored x units per get / budget x window. */
  idealSeconds: number;
  /** wallSeconds / idealSeconds: the figure issue 12 sets at <= 1.15. */
  ratioToIdeal: number;
  /** The fastest the units this account really spent could have been spent from idle (see lib/quota.ts). */
  spendFloorSeconds: number;
  ratioToSpendFloor: number;
}

export interface BackfillRun {
  processWallSeconds: number;
  peakRssMb?: number;
  /** CPU time the sync process used (user + system): how busy its one JS thread was. */
  processCpuSeconds?: number;
  accounts: AccountBackfill[];
}

/** Message-IDs (without brackets) of each mailbox's investor mail, by the scenario's ground truth. */
function investorTruth(scenario: Scenario): Map<string, Set<string>> {
  const truth = new Map<string, Set<string>>();
  for (const [account, entries] of Object.entries(scenario.truth)) {
    truth.set(account, new Set(entries.filter((entry) => entry.investorIds.length > 0).map((entry) => entry.messageId.replace(/^<|>$/g, ''))));
  }
  return truth;
}

/** Per account: stored copies that the ground truth calls investor mail. Read from the run's CRM file. */
function storedInvestorCounts(dbPath: string, truth: Map<string, Set<string>>): Map<string, number> {
  const db = openDatabase(dbPath);
  try {
    const rows = db.prepare('SELECT a.email AS account, e.rfc_message_id AS id FROM emails e JOIN email_accounts a ON a.id = e.account_id').all() as Array<{ account: string; id: string | null }>;
    const counts = new Map<string, number>();
    for (const row of rows) if (row.id && truth.get(row.account)?.has(row.id)) counts.set(row.account, (counts.get(row.account) ?? 0) + 1);
    return counts;
  } finally {
    db.close();
  }
}

/**
 * One backfill of the firm (or of one account) in one crm-mail process, from idle mailboxes.
 * `quota` is the model and the budget crm-mail runs at, for the ideal; undefined when unmetered.
 */
export async function backfillOnce(emulator: Emulator, scenario: Scenario, firm: Firm, quota: { facts: ModelFacts; budget: number } | undefined, account?: string): Promise<BackfillRun> {
  await quietQuota(emulator);
  const run = await runCrmMailOk(['--json', 'sync', '--no-propose', ...(account ? ['--account', account] : [])], { env: firm.env, measureRss: true, timeoutMs: 90 * 60_000 });
  markQuotaBusy(emulator);
  const summary = parseJson<SyncJson>(run, 'crm-mail sync');
  const failed = summary.accounts.filter((entry) => entry.status !== 'ok');
  if (failed.length > 0) throw new Error(`backfill failed for ${failed.map((entry) => `${entry.account}: ${entry.error}`).join('; ')}`);
  const stopped = summary.accounts.filter((entry) => entry.details?.stopped);
  if (stopped.length > 0) throw new Error(`backfill stopped by its time budget for ${stopped.map((entry) => entry.account).join(', ')}`);
  const truth = investorTruth(scenario);
  const storedInvestor = storedInvestorCounts(firm.dbPath, truth);
  const accounts = summary.accounts.map((entry): AccountBackfill => {
    const counters = emulator.counters(entry.account);
    const unitsByMethod = Object.fromEntries(Object.entries(counters.byMethod).map(([method, count]) => [method, count.units]));
    const callsOf = (method: string): number => counters.byMethod[method]?.calls ?? 0;
    const seconds = entry.durationMs / 1000;
    const investor = storedInvestor.get(entry.account) ?? 0;
    const ideal = quota ? idealSeconds(quota.facts, quota.budget, entry.stored) : Number.NaN;
    const floor = quota ? spendFloorSeconds(quota.facts, quota.budget, counters.units) : Number.NaN;
    return {
      account: entry.account,
      mailboxMessages: scenario.mailboxes[entry.account]?.length ?? 0,
      wallSeconds: round(seconds),
      listed: entry.listed,
      fetched: entry.fetched,
      stored: entry.stored,
      investorMessagesInMailbox: truth.get(entry.account)?.size ?? 0,
      storedInvestor: investor,
      storedOther: entry.stored - investor,
      apiCalls: counters.calls - counters.refused,
      units: counters.units,
      clientCalls: entry.apiCalls,
      clientUnits: entry.apiUnits,
      messagesGet: callsOf('messages.get'),
      messagesList: callsOf('messages.list'),
      attachmentsGet: callsOf('messages.attachments.get'),
      unitsByMethod,
      refusedQuota: counters.refusedQuota,
      refused: counters.refused,
      retries: entry.retries,
      throttled: entry.throttled,
      peakWindowUnits: counters.peakWindowUnits,
      unitsPerStoredCopy: round(counters.units / Math.max(1, entry.stored)),
      clientUnitsPerStoredCopy: round(entry.apiUnits / Math.max(1, entry.stored)),
      unitsPerStoredInvestorMessage: round(counters.units / Math.max(1, investor)),
      idealSeconds: round(ideal),
      ratioToIdeal: round(seconds / ideal, 3),
      spendFloorSeconds: round(floor),
      ratioToSpendFloor: floor > 0 ? round(seconds / floor, 3) : Number.NaN,
    };
  });
  return {
    processWallSeconds: round(run.wallMs / 1000),
    peakRssMb: run.peakRssMb === undefined ? undefined : round(run.peakRssMb, 1),
    processCpuSeconds: run.cpuMs === undefined ? undefined : round(run.cpuMs / 1000),
    accounts,
  };
}

export interface NaiveBaseline {
  model: QuotaModelName;
  method: string;
  /** How each account's wall time was obtained: from a timed sample, or computed from the quota. */
  wallMethod: 'timed sample' | 'quota-bound';
  sampleAccount?: string;
  sampleMessages?: number;
  sampleSeconds?: number;
  sampleRawPerSec?: number;
  perAccount: Array<{ account: string; listedMessages: number; listSeconds: number; listUnits: number; units: number; quotaBoundSeconds: number; estimatedWallSeconds: number }>;
}

/**
 * What a generic Gmail backup tool does: list the whole mailbox, then messages.get format=raw for
 * every id, through the real client under the same model and budget as crm-mail. Listing is done in
 * full for every account (it is cheap and fixes the message count exactly), so units are exact:
 * listing units as charged + one get per message at the model's price. Wall time per account =
 * its listing time + the gets' quota-bound time (the same formula as crm-mail's ideal); with
 * `sampleSize` > 0 the raw fetch is also timed on an evenly spread sample of the first account and
 * that rate is used instead (worth it under legacy; under 2026 a sample would have to span several
 * minute windows to mean anything, so there the quota bound is the figure).
 */
export async function naiveBaseline(emulator: Emulator, facts: ModelFacts, budget: number, sampleSize: number, log: Log): Promise<NaiveBaseline> {
  const credentials = createDwdCredentials({ keyFile: emulator.serviceAccountKeyFile, tokenUrl: emulator.tokenUrl });
  const users = [...emulator.users].sort();
  const client = (user: string): GmailAccountClient =>
    new GmailAccountClient({ user, credentials, apiRoot: emulator.rootUrl, quotaModel: facts.model, budget, retryMax: 5 });
  const listed = new Map<string, { ids: string[]; seconds: number; units: number }>();
  await quietQuota(emulator);
  for (const user of users) {
    await credentials.accessToken(user);
    const lister = client(user);
    const started = performance.now();
    const ids: string[] = [];
    for await (const page of lister.listMessages({ pageSize: 500 })) ids.push(...page.messages.map((message) => message.id));
    listed.set(user, { ids, seconds: (performance.now() - started) / 1000, units: lister.stats().units });
  }
  const perGetSeconds = (facts.unitsPerGet / budget) * (facts.windowMs / 1000);
  let rate: number | undefined;
  const result: NaiveBaseline = {
    model: facts.model,
    method: '',
    wallMethod: 'quota-bound',
    perAccount: [],
  };
  if (sampleSize > 0) {
    const sampleAccount = users[0]!;
    const all = listed.get(sampleAccount)!.ids;
    const step = Math.max(1, Math.floor(all.length / sampleSize));
    const sample = all.filter((_, index) => index % step === 0).slice(0, sampleSize);
    await quietQuota(emulator);
    const fetcher = client(sampleAccount);
    // An idle account may spend a whole window's budget at once; fetch that burst first, untimed, so
    // the timed sample shows the sustained rate a long backup runs at.
    const sampled = new Set(sample);
    const burst = all.filter((id) => !sampled.has(id)).slice(0, Math.floor(budget / facts.unitsPerGet));
    await fetcher.getMessages(burst, 'raw');
    log(`  naive baseline (${facts.model}): raw fetch of ${sample.length} of ${all.length} messages of ${sampleAccount} (after an untimed burst of ${burst.length})`);
    const started = performance.now();
    const answers = await fetcher.getMessages(sample, 'raw');
    const seconds = (performance.now() - started) / 1000;
    markQuotaBusy(emulator);
    const failed = [...answers.values()].filter((answer) => answer instanceof CrmMailError).length;
    if (failed > 0) throw new Error(`naive baseline: ${failed} of ${sample.length} raw fetches failed`);
    rate = sample.length / seconds;
    Object.assign(result, { wallMethod: 'timed sample', sampleAccount, sampleMessages: sample.length, sampleSeconds: round(seconds), sampleRawPerSec: round(rate) });
  }
  result.method =
    `messages.list (500 per page, whole mailbox, every account) + one messages.get format=raw per message at ${facts.unitsPerGet} units, ` +
    `through GmailAccountClient at ${budget} units per ${facts.per}; units exact (listing as charged + ${facts.unitsPerGet} per message); ` +
    (rate === undefined
      ? `wall time per account = its listing time + messages x ${facts.unitsPerGet} / ${budget} x 1 ${facts.per} (quota-bound, not timed)`
      : `wall time per account = its listing time + its message count / the rate of ${result.sampleMessages} raw gets timed after an untimed first-window burst`);
  result.perAccount = users.map((user) => {
    const entry = listed.get(user)!;
    const bound = entry.ids.length * perGetSeconds;
    return {
      account: user,
      listedMessages: entry.ids.length,
      listSeconds: round(entry.seconds),
      listUnits: entry.units,
      units: entry.units + facts.unitsPerGet * entry.ids.length,
      quotaBoundSeconds: round(entry.seconds + bound),
      estimatedWallSeconds: round(entry.seconds + (rate === undefined ? bound : entry.ids.length / rate)),
    };
  });
  return result;
}

export interface QuotaBackfillResult {
  model: QuotaModelName;
  windowMs: number;
  /** What the emulator meters: Gmail's per-user limit per window. */
  emulatorUserLimit: number;
  /** crm-mail's per-account budget per window, as `crm-mail config` reported it, and where it came from. */
  budget: number;
  budgetSource: string;
  unitsPerGet: number;
  accountConcurrency: number;
  repetitions: number;
  runs: BackfillRun[];
  /** Per account, median/min/max over the repetitions. */
  perAccount: Array<{
    account: string;
    mailboxMessages: number;
    stored: number;
    investorMessagesInMailbox: number;
    storedInvestor: number;
    storedOther: number;
    wallSeconds: Summary;
    idealSeconds: number;
    ratioToIdeal: Summary;
    spendFloorSeconds: Summary;
    ratioToSpendFloor: Summary;
    apiCalls: Summary;
    units: Summary;
    clientUnits: Summary;
    unitsPerStoredCopy: Summary;
    clientUnitsPerStoredCopy: Summary;
    unitsPerStoredInvestorMessage: Summary;
    /** Units per stored copy by method (medians): messages.get, messages.list, attachments, other. */
    unitsPerCopyByMethod: Record<string, number>;
    peakWindowUnits: Summary;
    refusedQuota: Summary;
    retries: Summary;
    /** Against the naive baseline of the same account (same run of the suite). */
    unitsVsNaive?: number;
    wallVsNaive?: number;
  }>;
  firm: {
    processWallSeconds: Summary;
    units: Summary;
    clientUnits: Summary;
    stored: number;
    storedInvestor: number;
    investorMessagesInMailboxes: number;
    unitsPerStoredCopy: Summary;
    clientUnitsPerStoredCopy: Summary;
    /** Per-account ratios to the ideal: the slowest account's (the verdict) and the median account's (medians over runs). */
    worstRatioToIdeal: number;
    medianRatioToIdeal: number;
    /** The whole process's wall time over the ideal of the account with the most stored copies. */
    processRatioToSlowestIdeal: Summary;
    /** The highest peakWindowUnits of any account in any run, and quota refusals over all runs. */
    maxPeakWindowUnits: number;
    refusedQuota: number;
    peakRssMb: Summary;
    processCpuSeconds: Summary;
  };
  naive?: NaiveBaseline;
  /** Firm totals against the naive baseline: crm-mail / naive. */
  versusNaive?: { crmUnits: number; naiveUnits: number; unitsRatio: number; timesFewerUnits: number; crmWallSeconds: number; naiveWallSeconds: number; wallRatio: number };
  /** The firm of the last repetition, left synced for the incremental and startup figures. */
  lastFirm?: Firm;
}

export async function benchQuotaBackfill(
  emulator: Emulator,
  scenario: Scenario,
  options: {
    model: QuotaModelName;
    repetitions: number;
    /** Run the naive baseline; `naiveSample` raw gets are timed (0: quota-bound wall time only). */
    naive?: boolean;
    naiveSample?: number;
    keepLastFirm?: boolean;
    settings?: Record<string, string>;
    /** Sync this one account only (`crm-mail sync --account`). */
    account?: string;
  },
  log: Log,
): Promise<QuotaBackfillResult> {
  const facts = modelFacts(options.model);
  const runs: BackfillRun[] = [];
  let lastFirm: Firm | undefined;
  let budget: { budget: number; source: string } | undefined;
  const concurrency = Number(options.settings?.CRM_GMAIL_ACCOUNT_CONCURRENCY ?? 3);
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const firm = await createFirm(emulator, scenario, { quota: { model: options.model }, settings: options.settings });
    budget ??= await effectiveBudget(firm.env, facts);
    const run = await backfillOnce(emulator, scenario, firm, { facts, budget: budget.budget }, options.account);
    runs.push(run);
    log(
      `  run ${repetition + 1}/${options.repetitions}: process ${run.processWallSeconds}s, stored ${sum(run.accounts.map((a) => a.stored))}, ` +
        `${sum(run.accounts.map((a) => a.units))} units; wall / ideal per account ${run.accounts.map((a) => a.ratioToIdeal.toFixed(3)).join('/')}; ` +
        `peak window ${Math.max(...run.accounts.map((a) => a.peakWindowUnits))} of ${budget.budget}; ${sum(run.accounts.map((a) => a.refusedQuota))} refused`,
    );
    if (options.keepLastFirm && repetition === options.repetitions - 1) lastFirm = firm;
    else firm.remove();
  }
  const accounts = runs[0]!.accounts.map((account) => account.account);
  const entries = (email: string): AccountBackfill[] => runs.map((run) => run.accounts.find((a) => a.account === email)!);
  const pick = (email: string, key: keyof AccountBackfill): number[] => entries(email).map((entry) => Number(entry[key]));
  let naive: NaiveBaseline | undefined;
  if (options.naive) naive = await naiveBaseline(emulator, facts, budget!.budget, options.naiveSample ?? 0, log);
  const perAccount = accounts.map((email) => {
    const first = runs[0]!.accounts.find((a) => a.account === email)!;
    const wall = summarize(pick(email, 'wallSeconds'));
    const units = summarize(pick(email, 'units'), 0);
    const baseline = naive?.perAccount.find((entry) => entry.account === email);
    const byMethod: Record<string, number> = {};
    const methods = new Set(entries(email).flatMap((entry) => Object.keys(entry.unitsByMethod)));
    for (const method of methods) {
      byMethod[method] = summarize(entries(email).map((entry) => (entry.unitsByMethod[method] ?? 0) / Math.max(1, entry.stored)), 3).median;
    }
    return {
      account: email,
      mailboxMessages: first.mailboxMessages,
      stored: first.stored,
      investorMessagesInMailbox: first.investorMessagesInMailbox,
      storedInvestor: first.storedInvestor,
      storedOther: first.storedOther,
      wallSeconds: wall,
      idealSeconds: first.idealSeconds,
      ratioToIdeal: summarize(pick(email, 'ratioToIdeal'), 3),
      spendFloorSeconds: summarize(pick(email, 'spendFloorSeconds'), 1),
      ratioToSpendFloor: summarize(pick(email, 'ratioToSpendFloor'), 3),
      apiCalls: summarize(pick(email, 'apiCalls'), 0),
      units,
      clientUnits: summarize(pick(email, 'clientUnits'), 0),
      unitsPerStoredCopy: summarize(pick(email, 'unitsPerStoredCopy')),
      clientUnitsPerStoredCopy: summarize(pick(email, 'clientUnitsPerStoredCopy')),
      unitsPerStoredInvestorMessage: summarize(pick(email, 'unitsPerStoredInvestorMessage')),
      unitsPerCopyByMethod: byMethod,
      peakWindowUnits: summarize(pick(email, 'peakWindowUnits'), 0),
      refusedQuota: summarize(pick(email, 'refusedQuota'), 0),
      retries: summarize(pick(email, 'retries'), 0),
      unitsVsNaive: baseline ? round(units.median / baseline.units, 4) : undefined,
      wallVsNaive: baseline ? round(wall.median / baseline.estimatedWallSeconds, 4) : undefined,
    };
  });
  const ratioMedians = perAccount.map((account) => account.ratioToIdeal.median);
  const firmUnits = summarize(runs.map((run) => sum(run.accounts.map((a) => a.units))), 0);
  const stored = sum(runs[0]!.accounts.map((a) => a.stored));
  const slowestIdeal = Math.max(...runs[0]!.accounts.map((a) => a.idealSeconds));
  const result: QuotaBackfillResult = {
    model: options.model,
    windowMs: facts.windowMs,
    emulatorUserLimit: emulator.quota.userUnitsPerWindow,
    budget: budget!.budget,
    budgetSource: budget!.source,
    unitsPerGet: facts.unitsPerGet,
    accountConcurrency: concurrency,
    repetitions: options.repetitions,
    runs,
    perAccount,
    firm: {
      processWallSeconds: summarize(runs.map((run) => run.processWallSeconds)),
      units: firmUnits,
      clientUnits: summarize(runs.map((run) => sum(run.accounts.map((a) => a.clientUnits))), 0),
      stored,
      storedInvestor: sum(runs[0]!.accounts.map((a) => a.storedInvestor)),
      investorMessagesInMailboxes: sum(runs[0]!.accounts.map((a) => a.investorMessagesInMailbox)),
      unitsPerStoredCopy: summarize(runs.map((run) => sum(run.accounts.map((a) => a.units)) / Math.max(1, sum(run.accounts.map((a) => a.stored))))),
      clientUnitsPerStoredCopy: summarize(runs.map((run) => sum(run.accounts.map((a) => a.clientUnits)) / Math.max(1, sum(run.accounts.map((a) => a.stored))))),
      worstRatioToIdeal: Math.max(...ratioMedians),
      medianRatioToIdeal: summarize(ratioMedians, 3).median,
      processRatioToSlowestIdeal: summarize(runs.map((run) => run.processWallSeconds / slowestIdeal), 3),
      maxPeakWindowUnits: Math.max(...runs.flatMap((run) => run.accounts.map((a) => a.peakWindowUnits))),
      refusedQuota: sum(runs.flatMap((run) => run.accounts.map((a) => a.refusedQuota))),
      peakRssMb: summarize(runs.map((run) => run.peakRssMb ?? Number.NaN), 1),
      processCpuSeconds: summarize(runs.map((run) => run.processCpuSeconds ?? Number.NaN), 1),
    },
    naive,
    lastFirm,
  };
  if (naive) {
    const naiveUnits = sum(naive.perAccount.map((entry) => entry.units));
    // Accounts run side by side in both cases, each on its own quota: compare like with like, the
    // sum of per-account wall times.
    const crmWall = sum(perAccount.map((account) => account.wallSeconds.median));
    const naiveWall = sum(naive.perAccount.map((entry) => entry.estimatedWallSeconds));
    result.versusNaive = {
      crmUnits: firmUnits.median,
      naiveUnits,
      unitsRatio: round(firmUnits.median / naiveUnits, 4),
      timesFewerUnits: round(naiveUnits / firmUnits.median, 1),
      crmWallSeconds: round(crmWall),
      naiveWallSeconds: round(naiveWall),
      wallRatio: round(crmWall / naiveWall, 4),
    };
  }
  return result;
}

export interface LocalCeilingResult {
  repetitions: number;
  /** The one account synced (the ceiling is per process: Node runs the pipeline on one core). */
  account: string;
  mailboxMessages: number;
  /** crm-mail's quota settings in these runs (unmetered). */
  clientQuota: string;
  storedPerRun: number;
  fetchedPerRun: number;
  processWallSeconds: Summary;
  /** The account's own run as crm-mail reports it (no process startup, no index build). */
  accountRunSeconds: Summary;
  /** Messages stored (fetched, parsed, matched, written) per second of the account's run: the pipeline's rate. */
  storedPerSec: Summary;
  /** The same over the whole process, startup included. */
  storedPerProcessSec: Summary;
  profile?: StageBreakdown & { wallSeconds: number; note: string };
}

export const UNMETERED_LABEL = 'CRM_GMAIL_QUOTA_MODEL=legacy, CRM_GMAIL_RATE_UNITS_SEC=100000, CRM_GMAIL_PROJECT_UNITS_MIN=100000000';

/** The same backfill with the emulator's quota off and crm-mail's own limiter out of the way. */
export async function benchLocalCeiling(emulator: Emulator, scenario: Scenario, options: { repetitions: number; profile: boolean; settings?: Record<string, string> }, log: Log): Promise<LocalCeilingResult> {
  const account = scenario.partners[0]!.email;
  const stored: number[] = [];
  const storedProcess: number[] = [];
  const walls: number[] = [];
  const accountWalls: number[] = [];
  let storedPerRun = 0;
  let fetchedPerRun = 0;
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const firm = await createFirm(emulator, scenario, { quota: 'unmetered', settings: options.settings });
    try {
      const run = await backfillOnce(emulator, scenario, firm, undefined, account);
      storedPerRun = sum(run.accounts.map((a) => a.stored));
      fetchedPerRun = sum(run.accounts.map((a) => a.fetched));
      const accountSeconds = run.accounts[0]!.wallSeconds;
      walls.push(run.processWallSeconds);
      accountWalls.push(accountSeconds);
      stored.push(storedPerRun / accountSeconds);
      storedProcess.push(storedPerRun / run.processWallSeconds);
      log(
        `  run ${repetition + 1}/${options.repetitions}: process ${run.processWallSeconds}s, account run ${accountSeconds}s, ` +
          `${storedPerRun} stored (${Math.round(storedPerRun / accountSeconds)}/s of the account run), ${fetchedPerRun} fetched`,
      );
    } finally {
      firm.remove();
    }
  }
  const result: LocalCeilingResult = {
    repetitions: options.repetitions,
    account,
    mailboxMessages: scenario.mailboxes[account]?.length ?? 0,
    clientQuota: UNMETERED_LABEL,
    storedPerRun,
    fetchedPerRun,
    processWallSeconds: summarize(walls),
    accountRunSeconds: summarize(accountWalls),
    storedPerSec: summarize(stored, 0),
    storedPerProcessSec: summarize(storedProcess, 0),
  };
  if (options.profile) {
    const firm = await createFirm(emulator, scenario, { quota: 'unmetered', settings: options.settings });
    try {
      await sleep(100);
      const run = await runCrmMailOk(['--json', 'sync', '--no-propose', '--account', account], { env: firm.env, cpuProfileDir: join(firm.dir, 'profile') });
      if (!run.cpuProfile) throw new Error('node --cpu-prof wrote no profile');
      const breakdown = stageBreakdown(run.cpuProfile);
      result.profile = {
        ...breakdown,
        wallSeconds: round(run.wallMs / 1000),
        note: 'one extra run under node --cpu-prof (V8 sampling profiler) of the crm-mail process only; the emulator runs in the benchmark process and is not in the profile, its serving time shows as idle',
      };
      log(`  profiled run: ${round(run.wallMs / 1000)}s, dominant stage ${breakdown.dominant}`);
    } finally {
      firm.remove();
    }
  }
  return result;
}

export interface NoopResult {
  model: QuotaModelName;
  accounts: number;
  repetitions: number;
  command: string;
  wallMs: Summary;
  apiCallsPerAccount: Summary;
  unitsPerAccount: Summary;
  apiCalls: Summary;
  units: Summary;
  byMethod: Record<string, number>;
  refusedQuota: number;
}

/** `crm-mail sync` (as cron runs it, propose included) on a synced firm with no new mail. */
export async function benchNoop(emulator: Emulator, firm: Firm, repetitions: number, log: Log): Promise<NoopResult> {
  const env = { ...firm.env, CRM_MAIL_DRAFTER: 'rule' };
  // Cron runs minutes after the backfill: start from idle windows, as it would.
  await quietQuota(emulator);
  // The first run after a backfill sets the proposal cutoff; measure the steady state after it.
  await runCrmMailOk(['--json', 'sync'], { env });
  const walls: number[] = [];
  const calls: number[] = [];
  const units: number[] = [];
  let accounts = 0;
  let refusedQuota = 0;
  let byMethod: Record<string, number> = {};
  for (let repetition = 0; repetition < repetitions; repetition++) {
    emulator.resetCounters();
    const run = await runCrmMailOk(['--json', 'sync'], { env });
    const summary = parseJson<SyncJson>(run, 'crm-mail sync');
    accounts = summary.accounts.length;
    const stored = sum(summary.accounts.map((account) => account.stored));
    if (stored !== 0) throw new Error(`the no-op sync stored ${stored} messages: the mailboxes were not quiet`);
    const counters = emulator.counters();
    walls.push(run.wallMs);
    calls.push(counters.calls);
    units.push(counters.units);
    refusedQuota += counters.refusedQuota;
    byMethod = Object.fromEntries(Object.entries(counters.byMethod).map(([method, count]) => [method, count.calls]));
  }
  log(`  ${repetitions} runs: ${walls.map((ms) => Math.round(ms)).join(', ')} ms; ${calls.join('/')} calls; ${units.join('/')} units`);
  return {
    model: emulator.quotaModel,
    accounts,
    repetitions,
    command: 'crm-mail --json sync (CRM_MAIL_DRAFTER=rule, propose included), spawned through bin/crm-mail',
    wallMs: summarize(walls, 0),
    apiCallsPerAccount: summarize(calls.map((value) => value / Math.max(1, accounts))),
    unitsPerAccount: summarize(units.map((value) => value / Math.max(1, accounts))),
    apiCalls: summarize(calls, 0),
    units: summarize(units, 0),
    byMethod,
    refusedQuota,
  };
}
