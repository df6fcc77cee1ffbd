/**
 * Issue 9, items 1-3: the backfill of a generated firm under Gmail's real per-user quota, the naive
 * baseline beside it, the local ceiling with the quota off (with a CPU profile of where the time
 * goes), and the incremental run with no new mail. crm-mail always runs as the real CLI in its own
 * process (`crm-mail --json sync`); the emulator serves it from this process on 127.0.0.1.
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
import { round, summarize, sum, type Summary } from '../lib/stats.js';

/** Gmail's per-user limit, and what it allows of messages.get (5 units each). */
export const GMAIL_UNITS_PER_SEC = 250;
export const GET_CEILING_PER_SEC = GMAIL_UNITS_PER_SEC / 5;

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
  apiCalls: number;
  apiUnits: number;
  retries: number;
  throttled: number;
  error: string | null;
}

interface SyncJson {
  ran: boolean;
  ok: boolean;
  accounts: SyncAccountJson[];
}

export interface AccountBackfill {
  account: string;
  mailboxMessages: number;
  wallSeconds: number;
  listed: number;
  fetchedMetadata: number;
  stored: number;
  /** Investor messages in the mailbox, by the scenario's ground truth (investors in From/To/Cc). */
  investorMessagesInMailbox: number;
  /** Stored copies that are investor mail by the ground truth, and those that are not (newsletters...). */
  storedInvestor: number;
  storedOther: number;
  /** As charged by the emulator's quota meter (what Google would count); refused calls excluded. */
  apiCalls: number;
  units: number;
  /** crm-mail's own count, to cross-check the emulator's. */
  clientUnits: number;
  messagesGet: number;
  messagesList: number;
  refusedByEmulator: number;
  retries: number;
  unitsPerStoredMessage: number;
  /** Units per stored copy that is investor mail by the ground truth. */
  unitsPerStoredInvestorMessage: number;
  getsPerSec: number;
  /** messages.get per second over the account's run / 50. */
  shareOfGetCeiling: number;
  /** Units per second over the account's run / 250. */
  shareOfUnitCeiling: number;
}

export interface BackfillRun {
  processWallSeconds: number;
  peakRssMb?: number;
  /** CPU time the sync process used (user + system): how busy its one JS thread was. */
  processCpuSeconds?: number;
  accounts: AccountBackfill[];
}

function emulatorFigures(emulator: Emulator, user: string): { calls: number; units: number; gets: number; lists: number; refused: number } {
  const counters = emulator.counters(user);
  const gets = counters.byMethod['messages.get']?.units ?? 0;
  const lists = counters.byMethod['messages.list']?.units ?? 0;
  return { calls: counters.calls - counters.refused, units: counters.units, gets: gets / 5, lists: lists / 5, refused: counters.refused };
}

/** Lets every mailbox's moving one-second window empty, so a run starts from idle accounts. */
async function quietQuota(emulator: Emulator): Promise<void> {
  await sleep(1100);
  emulator.resetCounters();
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

export async function backfillOnce(emulator: Emulator, scenario: Scenario, firm: Firm, quotaUnitsPerSec: number, account?: string): Promise<BackfillRun> {
  await quietQuota(emulator);
  const run = await runCrmMailOk(['--json', 'sync', '--no-propose', ...(account ? ['--account', account] : [])], { env: firm.env, measureRss: true });
  const summary = parseJson<SyncJson>(run, 'crm-mail sync');
  const failed = summary.accounts.filter((account) => account.status !== 'ok');
  if (failed.length > 0) throw new Error(`backfill failed for ${failed.map((account) => `${account.account}: ${account.error}`).join('; ')}`);
  const truth = investorTruth(scenario);
  const storedInvestor = storedInvestorCounts(firm.dbPath, truth);
  const accounts = summary.accounts.map((account): AccountBackfill => {
    const server = emulatorFigures(emulator, account.account);
    const seconds = account.durationMs / 1000;
    const getsPerSec = server.gets / seconds;
    const investor = storedInvestor.get(account.account) ?? 0;
    return {
      account: account.account,
      mailboxMessages: scenario.mailboxes[account.account]?.length ?? 0,
      wallSeconds: round(seconds),
      listed: account.listed,
      fetchedMetadata: account.fetched,
      stored: account.stored,
      investorMessagesInMailbox: truth.get(account.account)?.size ?? 0,
      storedInvestor: investor,
      storedOther: account.stored - investor,
      apiCalls: server.calls,
      units: server.units,
      clientUnits: account.apiUnits,
      messagesGet: server.gets,
      messagesList: server.lists,
      refusedByEmulator: server.refused,
      retries: account.retries,
      unitsPerStoredMessage: round(server.units / Math.max(1, account.stored)),
      unitsPerStoredInvestorMessage: round(server.units / Math.max(1, investor)),
      getsPerSec: round(getsPerSec),
      shareOfGetCeiling: quotaUnitsPerSec > 0 ? round(getsPerSec / GET_CEILING_PER_SEC, 3) : Number.NaN,
      shareOfUnitCeiling: quotaUnitsPerSec > 0 ? round(server.units / seconds / GMAIL_UNITS_PER_SEC, 3) : Number.NaN,
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
  method: string;
  sampleAccount: string;
  sampleMessages: number;
  sampleSeconds: number;
  sampleRawPerSec: number;
  sampleUnits: number;
  perAccount: Array<{ account: string; listedMessages: number; listSeconds: number; listUnits: number; units: number; estimatedWallSeconds: number }>;
}

/**
 * What a generic Gmail backup tool does: list the whole mailbox, then messages.get format=raw for
 * every id, through the real client under the same quota. Listing is done in full for every
 * account (it is cheap and fixes the message count exactly); the raw fetch is timed on an evenly
 * spread sample of one account, and each account's wall time is extrapolated from that rate.
 * Units are exact either way: listing units as charged + 5 per message.
 */
export async function naiveBaseline(emulator: Emulator, rateUnitsPerSec: number, sampleSize: number, log: Log): Promise<NaiveBaseline> {
  const credentials = createDwdCredentials({ keyFile: emulator.serviceAccountKeyFile, tokenUrl: emulator.tokenUrl });
  const users = [...emulator.users].sort();
  const listed = new Map<string, { ids: string[]; seconds: number; units: number }>();
  await quietQuota(emulator);
  for (const user of users) {
    await credentials.accessToken(user);
    const client = new GmailAccountClient({ user, credentials, apiRoot: emulator.rootUrl, unitsPerSec: rateUnitsPerSec, retryMax: 5 });
    const started = performance.now();
    const ids: string[] = [];
    for await (const page of client.listMessages({ pageSize: 500 })) ids.push(...page.messages.map((message) => message.id));
    listed.set(user, { ids, seconds: (performance.now() - started) / 1000, units: client.stats().units });
  }
  const sampleAccount = users[0]!;
  const all = listed.get(sampleAccount)!.ids;
  const step = Math.max(1, Math.floor(all.length / sampleSize));
  const sample = all.filter((_, index) => index % step === 0).slice(0, sampleSize);
  await quietQuota(emulator);
  const fetcher = new GmailAccountClient({ user: sampleAccount, credentials, apiRoot: emulator.rootUrl, unitsPerSec: rateUnitsPerSec, retryMax: 5 });
  // An idle account may spend a whole second's quota at once; fetch that burst first, untimed, so the
  // timed sample shows the sustained rate a long backup runs at.
  const sampled = new Set(sample);
  const burst = all.filter((id) => !sampled.has(id)).slice(0, Math.floor(rateUnitsPerSec / 5));
  await fetcher.getMessages(burst, 'raw');
  log(`  naive baseline: raw fetch of ${sample.length} of ${all.length} messages of ${sampleAccount} (after an untimed burst of ${burst.length})`);
  const started = performance.now();
  const answers = await fetcher.getMessages(sample, 'raw');
  const seconds = (performance.now() - started) / 1000;
  const failed = [...answers.values()].filter((answer) => answer instanceof CrmMailError).length;
  if (failed > 0) throw new Error(`naive baseline: ${failed} of ${sample.length} raw fetches failed`);
  const rate = sample.length / seconds;
  return {
    method:
      `messages.list (500 per page, whole mailbox, every account) + messages.get format=raw on ${sample.length} evenly spread messages of one account, ` +
      `timed after an untimed first-second burst; wall time per account = its listing time + its message count / the sampled rate; units exact (listing as charged + 5 per message)`,
    sampleAccount,
    sampleMessages: sample.length,
    sampleSeconds: round(seconds),
    sampleRawPerSec: round(rate),
    sampleUnits: fetcher.stats().units - 5 * burst.length,
    perAccount: users.map((user) => {
      const entry = listed.get(user)!;
      return {
        account: user,
        listedMessages: entry.ids.length,
        listSeconds: round(entry.seconds),
        listUnits: entry.units,
        units: entry.units + 5 * entry.ids.length,
        estimatedWallSeconds: round(entry.seconds + entry.ids.length / rate),
      };
    }),
  };
}

export interface QuotaBackfillResult {
  emulatorQuotaUnitsPerSec: number;
  clientRateUnitsPerSec: number;
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
    apiCalls: Summary;
    units: Summary;
    unitsPerStoredMessage: Summary;
    unitsPerStoredInvestorMessage: Summary;
    getsPerSec: Summary;
    shareOfGetCeiling: Summary;
    shareOfUnitCeiling: Summary;
    refusedByEmulator: Summary;
    /** Against the naive baseline of the same account (same run of the suite). */
    unitsVsNaive?: number;
    wallVsNaive?: number;
  }>;
  firm: {
    processWallSeconds: Summary;
    units: Summary;
    stored: number;
    storedInvestor: number;
    investorMessagesInMailboxes: number;
    peakRssMb: Summary;
    processCpuSeconds: Summary;
    lowestShareOfGetCeiling: number;
    medianShareOfGetCeiling: number;
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
    rateUnitsPerSec: number;
    quotaUnitsPerSec: number;
    repetitions: number;
    naiveSample?: number;
    keepLastFirm?: boolean;
    settings?: Record<string, string>;
    /** Sync this one account only (`crm-mail sync --account`). */
    account?: string;
  },
  log: Log,
): Promise<QuotaBackfillResult> {
  const runs: BackfillRun[] = [];
  let lastFirm: Firm | undefined;
  const concurrency = Number(options.settings?.CRM_GMAIL_ACCOUNT_CONCURRENCY ?? 3);
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const firm = await createFirm(emulator, scenario, { rateUnitsPerSec: options.rateUnitsPerSec, settings: options.settings });
    const run = await backfillOnce(emulator, scenario, firm, options.quotaUnitsPerSec, options.account);
    runs.push(run);
    const shares = run.accounts.map((account) => account.shareOfGetCeiling);
    log(
      `  run ${repetition + 1}/${options.repetitions}: ${run.processWallSeconds}s, stored ${sum(run.accounts.map((a) => a.stored))}, ` +
        `${sum(run.accounts.map((a) => a.units))} units, gets at ${shares.map((share) => `${Math.round(share * 100)}%`).join('/')} of ${GET_CEILING_PER_SEC}/s`,
    );
    if (options.keepLastFirm && repetition === options.repetitions - 1) lastFirm = firm;
    else firm.remove();
  }
  const accounts = runs[0]!.accounts.map((account) => account.account);
  const pick = (email: string, key: keyof AccountBackfill): number[] => runs.map((run) => Number(run.accounts.find((a) => a.account === email)![key]));
  let naive: NaiveBaseline | undefined;
  if (options.naiveSample) naive = await naiveBaseline(emulator, options.rateUnitsPerSec, options.naiveSample, log);
  const perAccount = accounts.map((email) => {
    const first = runs[0]!.accounts.find((a) => a.account === email)!;
    const wall = summarize(pick(email, 'wallSeconds'));
    const units = summarize(pick(email, 'units'), 0);
    const baseline = naive?.perAccount.find((entry) => entry.account === email);
    return {
      account: email,
      mailboxMessages: first.mailboxMessages,
      stored: first.stored,
      investorMessagesInMailbox: first.investorMessagesInMailbox,
      storedInvestor: first.storedInvestor,
      storedOther: first.storedOther,
      wallSeconds: wall,
      apiCalls: summarize(pick(email, 'apiCalls'), 0),
      units,
      unitsPerStoredMessage: summarize(pick(email, 'unitsPerStoredMessage')),
      unitsPerStoredInvestorMessage: summarize(pick(email, 'unitsPerStoredInvestorMessage')),
      getsPerSec: summarize(pick(email, 'getsPerSec')),
      shareOfGetCeiling: summarize(pick(email, 'shareOfGetCeiling'), 3),
      shareOfUnitCeiling: summarize(pick(email, 'shareOfUnitCeiling'), 3),
      refusedByEmulator: summarize(pick(email, 'refusedByEmulator'), 0),
      unitsVsNaive: baseline ? round(units.median / baseline.units, 4) : undefined,
      wallVsNaive: baseline ? round(wall.median / baseline.estimatedWallSeconds, 4) : undefined,
    };
  });
  const shareMedians = perAccount.map((account) => account.shareOfGetCeiling.median);
  const firmUnits = summarize(runs.map((run) => sum(run.accounts.map((a) => a.units))), 0);
  const result: QuotaBackfillResult = {
    emulatorQuotaUnitsPerSec: options.quotaUnitsPerSec,
    clientRateUnitsPerSec: options.rateUnitsPerSec,
    accountConcurrency: concurrency,
    repetitions: options.repetitions,
    runs,
    perAccount,
    firm: {
      processWallSeconds: summarize(runs.map((run) => run.processWallSeconds)),
      units: firmUnits,
      stored: sum(runs[0]!.accounts.map((a) => a.stored)),
      storedInvestor: sum(runs[0]!.accounts.map((a) => a.storedInvestor)),
      investorMessagesInMailboxes: sum(runs[0]!.accounts.map((a) => a.investorMessagesInMailbox)),
      peakRssMb: summarize(runs.map((run) => run.peakRssMb ?? Number.NaN), 1),
      processCpuSeconds: summarize(runs.map((run) => run.processCpuSeconds ?? Number.NaN), 1),
      lowestShareOfGetCeiling: Math.min(...shareMedians),
      medianShareOfGetCeiling: summarize(shareMedians, 3).median,
    },
    naive,
    lastFirm,
  };
  if (naive) {
    const naiveUnits = sum(naive.perAccount.map((entry) => entry.units));
    // Accounts run side by side in both cases: crm-mail's sync and the naive tool are each as slow as
    // their slowest waves. Compare like with like: the sum of per-account wall times.
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
  clientRateUnitsPerSec: number;
  storedPerRun: number;
  fetchedMetadataPerRun: number;
  processWallSeconds: Summary;
  /** The account's own run as crm-mail reports it (no process startup, no index build). */
  accountRunSeconds: Summary;
  /** Messages stored (parsed, matched, written) per second of the account's run: the pipeline's rate. */
  storedPerSec: Summary;
  /** The same over the whole process, startup included. */
  storedPerProcessSec: Summary;
  /** Messages whose headers were fetched, parsed and matched per second of the account's run. */
  metadataPerSec: Summary;
  profile?: StageBreakdown & { wallSeconds: number; note: string };
}

/** The same backfill with the emulator's quota off and crm-mail's own limiter out of the way. */
export async function benchLocalCeiling(emulator: Emulator, scenario: Scenario, options: { repetitions: number; profile: boolean; settings?: Record<string, string> }, log: Log): Promise<LocalCeilingResult> {
  const rate = 100_000;
  const account = scenario.partners[0]!.email;
  const stored: number[] = [];
  const storedProcess: number[] = [];
  const metadata: number[] = [];
  const walls: number[] = [];
  const accountWalls: number[] = [];
  let storedPerRun = 0;
  let fetchedPerRun = 0;
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const firm = await createFirm(emulator, scenario, { rateUnitsPerSec: rate, settings: options.settings });
    try {
      const run = await backfillOnce(emulator, scenario, firm, 0, account);
      storedPerRun = sum(run.accounts.map((a) => a.stored));
      fetchedPerRun = sum(run.accounts.map((a) => a.fetchedMetadata));
      const accountSeconds = run.accounts[0]!.wallSeconds;
      walls.push(run.processWallSeconds);
      accountWalls.push(accountSeconds);
      stored.push(storedPerRun / accountSeconds);
      storedProcess.push(storedPerRun / run.processWallSeconds);
      metadata.push(fetchedPerRun / accountSeconds);
      log(
        `  run ${repetition + 1}/${options.repetitions}: process ${run.processWallSeconds}s, account run ${accountSeconds}s, ` +
          `${storedPerRun} stored (${Math.round(storedPerRun / accountSeconds)}/s of the account run), ${fetchedPerRun} headers`,
      );
    } finally {
      firm.remove();
    }
  }
  const result: LocalCeilingResult = {
    repetitions: options.repetitions,
    account,
    mailboxMessages: scenario.mailboxes[account]?.length ?? 0,
    clientRateUnitsPerSec: rate,
    storedPerRun,
    fetchedMetadataPerRun: fetchedPerRun,
    processWallSeconds: summarize(walls),
    accountRunSeconds: summarize(accountWalls),
    storedPerSec: summarize(stored, 0),
    storedPerProcessSec: summarize(storedProcess, 0),
    metadataPerSec: summarize(metadata, 0),
  };
  if (options.profile) {
    const firm = await createFirm(emulator, scenario, { rateUnitsPerSec: rate, settings: options.settings });
    try {
      await sleep(1100);
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
  accounts: number;
  repetitions: number;
  command: string;
  wallMs: Summary;
  apiCallsPerAccount: Summary;
  unitsPerAccount: Summary;
  apiCalls: Summary;
  units: Summary;
  byMethod: Record<string, number>;
}

/** `crm-mail sync` (as cron runs it, propose included) on a synced firm with no new mail. */
export async function benchNoop(emulator: Emulator, firm: Firm, repetitions: number, log: Log): Promise<NoopResult> {
  const env = { ...firm.env, CRM_MAIL_DRAFTER: 'rule' };
  // The first run after a backfill sets the proposal cutoff; measure the steady state after it.
  await runCrmMailOk(['--json', 'sync'], { env });
  const walls: number[] = [];
  const calls: number[] = [];
  const units: number[] = [];
  let accounts = 0;
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
    byMethod = Object.fromEntries(Object.entries(counters.byMethod).map(([method, count]) => [method, count.calls]));
  }
  log(`  ${repetitions} runs: ${walls.map((ms) => Math.round(ms)).join(', ')} ms; ${calls.join('/')} calls`);
  return {
    accounts,
    repetitions,
    command: 'crm-mail --json sync (CRM_MAIL_DRAFTER=rule, propose included), spawned through bin/crm-mail',
    wallMs: summarize(walls, 0),
    apiCallsPerAccount: summarize(calls.map((value) => value / Math.max(1, accounts))),
    unitsPerAccount: summarize(units.map((value) => value / Math.max(1, accounts))),
    apiCalls: summarize(calls, 0),
    units: summarize(units, 0),
    byMethod,
  };
}
