/**
 * The suite's printed report (tables) and the verdict on each target (issue 12's for the backfill
 * under the 2026 quota model, issue 9's that still apply). The verdict only reads the measured
 * figures: nothing here changes how anything is measured.
 */
import Table from 'cli-table3';
import { STAGE_LABELS, type Stage } from './lib/cpu-profile.js';
import { modelFacts, type QuotaModelName } from './lib/quota.js';
import { formatNumber, formatSummary, type Summary } from './lib/stats.js';
import type { NoopResult, QuotaBackfillResult } from './sections/backfill.js';
import { RELATIONSHIP_GOALS_MS, type RelationshipTiming } from './sections/relationships.js';
import type { Results } from './run.js';

export type Verdict = 'met' | 'missed' | 'not measured';

export type TargetId =
  | 'backfill-ratio-2026'
  | 'backfill-ratio-legacy'
  | 'units-per-copy-2026'
  | 'quota-respected-2026'
  | 'quota-respected-legacy'
  | 'units-vs-naive'
  | 'local-ceiling'
  | 'noop-calls'
  | 'noop-wall'
  | 'rss-peak'
  | 'rss-flat'
  | 'rematch'
  | 'help'
  | 'investors-table'
  | 'investor-timeline'
  | 'search-rare'
  | 'search-common';

export interface TargetVerdict {
  id: TargetId;
  target: string;
  measured: string;
  verdict: Verdict;
  note?: string;
}

/** Issue 12: backfill wall time over the quota-bound ideal, per account. */
export const RATIO_GOAL = 1.15;
/** Issue 12: quota units per stored mailbox copy under the 2026 model. */
export const UNITS_PER_COPY_GOAL_2026 = 21;

type QuotaFigures = Omit<QuotaBackfillResult, 'lastFirm'>;

const ms = (summary: Summary): string => formatSummary(summary, ' ms', 0);
const n = (value: number): string => value.toLocaleString('en-US');

/** "5,400 units/min" or "150 units/s". */
export function budgetLabel(model: QuotaModelName, units: number): string {
  return `${n(units)} units/${modelFacts(model).per === 'minute' ? 'min' : 's'}`;
}

function ratioLine(quota: QuotaFigures): string {
  const ratios = quota.perAccount.map((account) => account.ratioToIdeal.median);
  return (
    `slowest account ${formatNumber(quota.firm.worstRatioToIdeal, 3)}x, median account ${formatNumber(quota.firm.medianRatioToIdeal, 3)}x ` +
    `(per account ${ratios.map((ratio) => formatNumber(ratio, 3)).join(' / ')}; ideal = stored copies x ${quota.unitsPerGet} / ${budgetLabel(quota.model, quota.budget)})`
  );
}

function noopWorst(noop: Partial<Record<QuotaModelName, NoopResult>>): { calls: number; wallMs: number; text: string[]; wall: string[] } {
  const entries = Object.values(noop).filter((entry): entry is NoopResult => entry !== undefined);
  return {
    calls: Math.max(...entries.map((entry) => entry.apiCallsPerAccount.max)),
    wallMs: Math.max(...entries.map((entry) => entry.wallMs.median)),
    text: entries.map((entry) => `${entry.model}: ${formatSummary(entry.apiCallsPerAccount)} calls, ${formatSummary(entry.unitsPerAccount)} units per account (${entry.accounts} accounts)`),
    wall: entries.map((entry) => `${entry.model}: ${ms(entry.wallMs)}`),
  };
}

export function targetsOf(results: Results): TargetVerdict[] {
  const quickRatio = (model: QuotaModelName): string | undefined =>
    results.mode !== 'quick' ? undefined : model === '2026' ? "quick mode: a backfill this small is mostly the first minute's burst; indicative only" : 'quick mode: a small firm; indicative only';
  const quickSizes = results.mode === 'quick' ? 'quick mode: smaller sizes than the target names; indicative only' : undefined;
  const verdicts: TargetVerdict[] = [];
  for (const model of ['2026', 'legacy'] as const) {
    const quota = results.quota?.[model];
    const id = `backfill-ratio-${model}` as const;
    const target = `backfill wall time <= ${RATIO_GOAL}x the quota-bound ideal, every account (${model} model, crm-mail's default budget)`;
    verdicts.push(
      quota
        ? { id, target, measured: ratioLine(quota), verdict: quota.firm.worstRatioToIdeal <= RATIO_GOAL ? 'met' : 'missed', note: quickRatio(model) }
        : { id, target, measured: '-', verdict: 'not measured' },
    );
    if (model === '2026') {
      const target = `<= ${UNITS_PER_COPY_GOAL_2026} quota units per stored mailbox copy (2026 model)`;
      verdicts.push(
        quota
          ? {
              id: 'units-per-copy-2026',
              target,
              measured:
                `${formatSummary(quota.firm.unitsPerStoredCopy, '', 2)} over the firm (emulator's meter; crm-mail's own count ${formatSummary(quota.firm.clientUnitsPerStoredCopy, '', 2)}); ` +
                `per account ${quota.perAccount.map((account) => formatNumber(account.unitsPerStoredCopy.median, 2)).join(' / ')}` +
                (results.quota?.legacy ? `; legacy model ${formatSummary(results.quota.legacy.firm.unitsPerStoredCopy, '', 2)} (no target)` : ''),
              verdict: quota.firm.unitsPerStoredCopy.max <= UNITS_PER_COPY_GOAL_2026 ? 'met' : 'missed',
            }
          : { id: 'units-per-copy-2026', target, measured: '-', verdict: 'not measured' },
      );
    }
  }
  for (const model of ['2026', 'legacy'] as const) {
    const quota = results.quota?.[model];
    const id = `quota-respected-${model}` as const;
    const target = `${model} model: no account's peak window above crm-mail's budget, no quota refusal`;
    verdicts.push(
      quota
        ? {
            id,
            target,
            measured: `highest peak window ${n(quota.firm.maxPeakWindowUnits)} of a ${budgetLabel(quota.model, quota.budget)} budget (Gmail allows ${n(quota.emulatorUserLimit)}); ${n(quota.firm.refusedQuota)} calls refused for quota`,
            verdict: quota.firm.maxPeakWindowUnits <= quota.budget && quota.firm.refusedQuota === 0 ? 'met' : 'missed',
          }
        : { id, target, measured: '-', verdict: 'not measured' },
    );
  }
  const naiveQuota = results.quota?.['2026'] ?? results.quota?.legacy;
  verdicts.push(
    naiveQuota?.versusNaive
      ? {
          id: 'units-vs-naive',
          target: '>= 10x fewer quota units than the naive baseline on this firm',
          measured: (['2026', 'legacy'] as const)
            .flatMap((model) => {
              const v = results.quota?.[model]?.versusNaive;
              return v ? [`${model}: ${formatNumber(v.timesFewerUnits, 1)}x fewer (${n(v.crmUnits)} vs ${n(v.naiveUnits)} units)`] : [];
            })
            .join('; '),
          verdict: naiveQuota.versusNaive.timesFewerUnits >= 10 ? 'met' : 'missed',
          note: quickSizes,
        }
      : { id: 'units-vs-naive', target: '>= 10x fewer quota units than the naive baseline', measured: '-', verdict: 'not measured' },
  );
  const local = results.local;
  verdicts.push(
    local
      ? {
          id: 'local-ceiling',
          target: 'local ceiling >= 2,000 messages per second (parsed, matched and stored)',
          measured: `${formatSummary(local.storedPerSec, ' stored/s', 0)} over the account's run (${formatSummary(local.storedPerProcessSec, '/s', 0)} over the whole process)`,
          verdict: local.storedPerSec.median >= 2000 ? 'met' : 'missed',
          note: quickSizes,
        }
      : { id: 'local-ceiling', target: 'local ceiling >= 2,000 messages per second', measured: '-', verdict: 'not measured' },
  );
  const noop = results.noop && Object.values(results.noop).some(Boolean) ? noopWorst(results.noop) : undefined;
  if (noop) {
    verdicts.push({
      id: 'noop-calls',
      target: 'no-op incremental: <= 2 API calls per account (every model measured)',
      measured: noop.text.join('; '),
      verdict: noop.calls <= 2 ? 'met' : 'missed',
    });
    verdicts.push({
      id: 'noop-wall',
      target: 'no-op incremental: whole crm-mail sync process under 1.5 s',
      measured: noop.wall.join('; '),
      verdict: noop.wallMs < 1500 ? 'met' : 'missed',
    });
  } else {
    verdicts.push({ id: 'noop-calls', target: 'no-op incremental: <= 2 API calls per account', measured: '-', verdict: 'not measured' });
    verdicts.push({ id: 'noop-wall', target: 'no-op incremental: whole process under 1.5 s', measured: '-', verdict: 'not measured' });
  }
  const memory = results.memory;
  if (memory) {
    const biggest = memory.points[memory.points.length - 1]!;
    const smallest = memory.points[0]!;
    verdicts.push({
      id: 'rss-peak',
      target: `peak RSS under 250 MB (${n(biggest.mailboxMessages)}-message backfill)`,
      measured: formatSummary(biggest.peakRssMb, ' MB', 1),
      verdict: biggest.peakRssMb.max < 250 ? 'met' : 'missed',
      note: quickSizes,
    });
    verdicts.push({
      id: 'rss-flat',
      target: `peak RSS flat from ${n(smallest.mailboxMessages)} to ${n(biggest.mailboxMessages)} messages (read here as: grows by 10% or less)`,
      measured: `${formatNumber(smallest.peakRssMb.median, 1)} MB -> ${formatNumber(biggest.peakRssMb.median, 1)} MB (x${formatNumber(memory.growth, 2)})`,
      verdict: memory.growth <= 1.1 ? 'met' : 'missed',
      note: quickSizes,
    });
  } else {
    verdicts.push({ id: 'rss-peak', target: 'peak RSS under 250 MB', measured: '-', verdict: 'not measured' });
    verdicts.push({ id: 'rss-flat', target: 'peak RSS flat from 10k to 100k messages', measured: '-', verdict: 'not measured' });
  }
  const rematch = results.rematch;
  verdicts.push(
    rematch
      ? {
          id: 'rematch',
          target: `rematch of ${n(rematch.storedMessages)} messages under 5 s (whole process)`,
          measured: ms(rematch.wallMs),
          verdict: rematch.wallMs.median < 5000 ? 'met' : 'missed',
          note: rematch.storedMessages < 100_000 ? quickSizes : undefined,
        }
      : { id: 'rematch', target: 'rematch of 100,000 messages under 5 s', measured: '-', verdict: 'not measured' },
  );
  const startup = results.startup;
  verdicts.push(
    startup
      ? { id: 'help', target: 'crm-mail --help under 300 ms', measured: ms(startup.help), verdict: startup.help.median < 300 ? 'met' : 'missed' }
      : { id: 'help', target: 'crm-mail --help under 300 ms', measured: '-', verdict: 'not measured' },
  );
  verdicts.push(...relationshipVerdicts(results));
  return verdicts;
}

/** Issue 16: the relationship commands over the large store, whole process. */
function relationshipVerdicts(results: Results): TargetVerdict[] {
  const r = results.relationships;
  const goals: Array<{ id: TargetId; label: string; goal: number; timing?: RelationshipTiming }> = [
    { id: 'investors-table', label: 'crm-mail investors (whole table)', goal: RELATIONSHIP_GOALS_MS.investors, timing: r?.investors },
    { id: 'investor-timeline', label: 'crm-mail investor (one timeline)', goal: RELATIONSHIP_GOALS_MS.investor, timing: r?.investor },
    { id: 'search-rare', label: 'crm-mail search, a rare word', goal: RELATIONSHIP_GOALS_MS.search, timing: r?.searchRare },
    { id: 'search-common', label: 'crm-mail search, a common word', goal: RELATIONSHIP_GOALS_MS.search, timing: r?.searchCommon },
  ];
  const size = r ? `on ${n(r.storedMessages)} stored copies` : 'on 100,000 stored copies';
  return goals.map(({ id, label, goal, timing }) =>
    timing
      ? {
          id,
          target: `${label} under ${n(goal)} ms ${size} (whole process)`,
          measured: ms(timing.wallMs),
          verdict: timing.wallMs.median < goal ? 'met' : 'missed',
          note: r!.storedMessages < 100_000 ? 'quick mode: a smaller store than the target names' : undefined,
        }
      : { id, target: `${label} under ${n(goal)} ms ${size}`, measured: '-', verdict: 'not measured' },
  );
}

/** The busy stages of a profile, largest first, with their share of the busy time. */
export function stageLine(profile: { ms: Record<Stage, number>; shareOfBusy: Partial<Record<Stage, number>>; topFunctions: Array<{ name: string; where: string; ms: number }> }): string {
  const order = (Object.keys(profile.ms) as Stage[]).filter((stage) => stage !== 'idle' && profile.ms[stage] >= 1).sort((a, b) => profile.ms[b] - profile.ms[a]);
  const stages = order.map((stage) => `${stage} ${formatNumber((profile.shareOfBusy[stage] ?? 0) * 100, 1)}%`).join(', ');
  const top = profile.topFunctions.slice(0, 4).map((f) => `${f.name} (${f.where}) ${f.ms} ms`).join('; ');
  return `${stages}; heaviest: ${top}`;
}

function header(title: string, columns: number): Array<{ colSpan: number; content: string }> {
  return [{ colSpan: columns, content: title }];
}

const METHOD_SHORT: Record<string, string> = { 'messages.get': 'get', 'messages.list': 'list', 'messages.attachments.get': 'attachments' };

/** "get 20.00 + list 0.05 + attachments 1.60 + other 0.01" per stored copy. */
export function perCopyBreakdown(byMethod: Record<string, number>): string {
  let other = 0;
  const parts: string[] = [];
  for (const [method, units] of Object.entries(byMethod)) {
    if (METHOD_SHORT[method]) parts.push(`${METHOD_SHORT[method]} ${formatNumber(units, 2)}`);
    else other += units;
  }
  if (other >= 0.005) parts.push(`other ${formatNumber(other, 2)}`);
  return parts.join(' + ');
}

function accountTable(title: string, quota: QuotaFigures): string {
  const withNaive = quota.perAccount.some((account) => account.unitsVsNaive !== undefined);
  const head = ['account', 'mailbox', 'stored (investor/other)', 'wall s', 'ideal s', 'wall/ideal', 'floor s', 'calls', 'units', 'units/copy (crm-mail)', `peak window / ${n(quota.budget)}`, '429s'];
  if (withNaive) head.push('units vs naive');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const account of quota.perAccount) {
    const row = [
      account.account,
      n(account.mailboxMessages),
      `${n(account.stored)} (${n(account.storedInvestor)}/${n(account.storedOther)})`,
      formatSummary(account.wallSeconds, '', 1),
      formatNumber(account.idealSeconds, 1),
      formatSummary(account.ratioToIdeal, '', 3),
      formatSummary(account.spendFloorSeconds, '', 0),
      formatSummary(account.apiCalls, '', 0),
      formatSummary(account.units, '', 0),
      `${formatSummary(account.unitsPerStoredCopy, '', 2)} (${formatSummary(account.clientUnitsPerStoredCopy, '', 2)})`,
      formatSummary(account.peakWindowUnits, '', 0),
      formatSummary(account.refusedQuota, '', 0),
    ];
    if (withNaive) row.push(account.unitsVsNaive === undefined ? '-' : `${formatNumber(account.unitsVsNaive, 3)}x`);
    table.push(row);
  }
  const firm = quota.firm;
  const total = [
    'whole firm',
    '',
    `${n(firm.stored)} (${n(firm.storedInvestor)}/${n(firm.stored - firm.storedInvestor)})`,
    `process ${formatSummary(firm.processWallSeconds, '', 1)}`,
    '',
    `worst ${formatNumber(firm.worstRatioToIdeal, 3)}`,
    '',
    '',
    formatSummary(firm.units, '', 0),
    `${formatSummary(firm.unitsPerStoredCopy, '', 2)} (${formatSummary(firm.clientUnitsPerStoredCopy, '', 2)})`,
    `max ${n(firm.maxPeakWindowUnits)}`,
    n(firm.refusedQuota),
  ];
  if (withNaive) total.push(quota.versusNaive ? `${formatNumber(quota.versusNaive.unitsRatio, 3)}x` : '');
  table.push(total);
  const first = quota.perAccount[0];
  return (
    `${title}\n${table.toString()}\n` +
    `wall = the account's own run as crm-mail reports it; ideal = stored copies x ${quota.unitsPerGet} units / ${budgetLabel(quota.model, quota.budget)} x 1 ${modelFacts(quota.model).per}; ` +
    `floor = the fastest the units the account really spent (listing and attachments included) could be spent from an idle window: (ceil(units / budget) - 1) windows.\n` +
    (first ? `units per stored copy by method (${first.account}): ${perCopyBreakdown(first.unitsPerCopyByMethod)}\n` : '') +
    `the whole process over the largest account's ideal: ${formatSummary(firm.processRatioToSlowestIdeal, 'x', 3)}; ` +
    `sync process: peak RSS ${formatSummary(firm.peakRssMb, ' MB', 1)}; CPU time ${formatSummary(firm.processCpuSeconds, ' s', 1)} over ${formatSummary(firm.processWallSeconds, ' s', 1)} of wall time`
  );
}

function naiveSection(quota: QuotaFigures): string[] {
  const naive = quota.naive;
  if (!naive) return [];
  const out: string[] = [];
  const table = new Table({ head: ['account', 'messages listed', 'list s', 'list units', 'naive units (exact)', 'naive wall s (est.)'], style: { head: [], border: [] } });
  out.push(
    `Naive baseline under the ${quota.model} model (list everything, get every message raw at ${quota.unitsPerGet} units; real client at the same budget): ${naive.method}` +
      (naive.wallMethod === 'timed sample' ? `; sampled ${formatNumber(naive.sampleRawPerSec ?? Number.NaN, 1)} raw gets/s on ${naive.sampleAccount}` : ''),
  );
  for (const entry of naive.perAccount) {
    table.push([entry.account, n(entry.listedMessages), formatNumber(entry.listSeconds, 2), n(entry.listUnits), n(entry.units), formatNumber(entry.estimatedWallSeconds, 0)]);
  }
  out.push(table.toString());
  const v = quota.versusNaive;
  if (v) {
    out.push(
      `crm-mail vs naive (whole firm, ${quota.model}): ${n(v.crmUnits)} vs ${n(v.naiveUnits)} units = ${formatNumber(v.unitsRatio, 3)}x (${formatNumber(v.timesFewerUnits, 1)}x fewer); ` +
        `sum of account wall times ${formatNumber(v.crmWallSeconds, 0)} s vs ${formatNumber(v.naiveWallSeconds, 0)} s (est.) = ${formatNumber(v.wallRatio, 3)}x`,
    );
  }
  return out;
}

export function renderReport(results: Results): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(`crm-mail benchmarks (${results.mode} mode): ${results.command}`);
  out.push(`machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB memory, ${m.platform}, Node ${m.node}; load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd?.join(' ') ?? '?'} at end`);
  out.push(`started ${results.startedAt}; median of several runs, (min-max) when the runs differ; loopback only`);
  if (results.firm) out.push(`firm: ${results.firm.description}; ${results.firm.partners} partners, ${results.firm.investors} investors`);
  out.push('');

  for (const model of ['2026', 'legacy'] as const) {
    const quota = results.quota?.[model];
    if (!quota) continue;
    const facts = modelFacts(model);
    out.push(
      accountTable(
        `1. Backfill under the ${model} model: emulator ${n(quota.emulatorUserLimit)} units per ${facts.per} per user (Gmail's limit; get ${quota.unitsPerGet} units), ` +
          `crm-mail at ${quota.budgetSource}, ${quota.accountConcurrency} accounts at once, ${quota.repetitions} run(s)`,
        quota,
      ),
    );
    out.push(...naiveSection(quota), '');
  }
  if (results.quotaSingle) {
    const single = results.quotaSingle;
    out.push(accountTable(`1a. The first account's backfill alone in its process (${single.model} model, ${single.budgetSource}), ${single.repetitions} run: no other account competes for the process's one JS thread`, single));
    out.push('');
  }

  const table = new Table({ head: ['figure', 'measured: median (min-max)'], style: { head: [], border: [] }, colWidths: [62, 70], wordWrap: true });
  if (results.local) {
    const local = results.local;
    table.push(header(`2. Local ceiling: the firm's first mailbox (${local.account}, ${local.mailboxMessages.toLocaleString('en-US')} messages), emulator quota off, crm-mail unmetered (${local.clientQuota}), ${local.repetitions} run(s)`, 2));
    table.push(['whole sync process; the account\'s own run (as crm-mail reports it)', `${formatSummary(local.processWallSeconds, ' s')}; ${formatSummary(local.accountRunSeconds, ' s')}`]);
    table.push([`messages stored (fetched, parsed, matched, written) per second of the account's run; ${local.storedPerRun.toLocaleString('en-US')} per run`, formatSummary(local.storedPerSec, '/s', 0)]);
    table.push(['the same per second of the whole process (startup, index build included)', formatSummary(local.storedPerProcessSec, '/s', 0)]);
    if (local.profile) {
      const p = local.profile;
      table.push(header(`Where the time goes (node --cpu-prof of one more run, ${formatNumber(p.wallSeconds, 1)} s; crm-mail's process only)`, 2));
      const order = (Object.keys(p.ms) as Stage[]).sort((a, b) => p.ms[b] - p.ms[a]);
      for (const stage of order) {
        const share = stage === 'idle' ? `${formatNumber((p.ms.idle / p.totalMs) * 100, 1)}% of all samples` : `${formatNumber((p.shareOfBusy[stage] ?? 0) * 100, 1)}% of busy time`;
        table.push([STAGE_LABELS[stage], `${Math.round(p.ms[stage]).toLocaleString('en-US')} ms (${share})`]);
      }
      table.push(['dominant stage (busy time)', STAGE_LABELS[p.dominant]]);
      table.push(['heaviest functions (self time)', p.topFunctions.slice(0, 6).map((f) => `${f.name} ${f.where} ${f.ms} ms`).join('; ')]);
    }
  }
  if (results.pipeline) {
    const p = results.pipeline;
    table.push(header('2b. Pipeline stages in isolation, one core (bench/pipeline.ts, shared corpus)', 2));
    table.push([`parse + match from raw (${p.corpusMessages} corpus messages, ${p.averageMessageBytes} B average)`, `${p.parseMatchPerSecond.toLocaleString('en-US')}/s`]);
    table.push(['capture into SQLite (pages of 100 per transaction)', `${p.capturePerSecond.toLocaleString('en-US')}/s`]);
    table.push([`investor index rebuild, ${p.indexInvestors.toLocaleString('en-US')} investors`, `${p.indexBuildMedianMs} ms median, ${p.indexBuildMinMs} ms fastest`]);
  }
  for (const model of ['2026', 'legacy'] as const) {
    const noop = results.noop?.[model];
    if (!noop) continue;
    table.push(header(`3. Incremental, no new mail (${model} model): ${noop.accounts} accounts, ${noop.repetitions} runs of ${noop.command}`, 2));
    table.push(['whole process wall time (startup included)', ms(noop.wallMs)]);
    table.push(['API calls per account', formatSummary(noop.apiCallsPerAccount)]);
    table.push(['quota units per account', formatSummary(noop.unitsPerAccount)]);
    table.push(['API calls by method (last run, all accounts); quota refusals', `${Object.entries(noop.byMethod).map(([method, count]) => `${method} ${count}`).join(', ') || 'none'}; ${noop.refusedQuota}`]);
  }
  if (results.memory) {
    const mem = results.memory;
    table.push(header(`4. Memory: ${mem.scenario}; ${mem.repetitions} run(s) each`, 2));
    for (const point of mem.points) {
      table.push([
        `peak RSS, ${point.mailboxMessages.toLocaleString('en-US')}-message mailbox (${point.stored.toLocaleString('en-US')} stored, ${point.fetched.toLocaleString('en-US')} fetched)`,
        `${formatSummary(point.peakRssMb, ' MB', 1)}; V8 heap alive after a full GC at exit ${formatSummary(point.liveHeapAtExitMb, ' MB', 1)}; wall ${formatSummary(point.wallSeconds, ' s', 1)}`,
      ]);
    }
    table.push(['growth of peak RSS, largest over smallest mailbox', `x${formatNumber(mem.growth, 3)}`]);
  }
  if (results.rematch) {
    const r = results.rematch;
    table.push(header(`5. Rematch: ${r.storedMessages.toLocaleString('en-US')} stored copies (${r.distinctMessages.toLocaleString('en-US')} distinct generated messages, built in ${r.storeBuildSeconds} s), ${r.investorsAdded} investors added`, 2));
    table.push([`${r.command}: examined ${r.examined.toLocaleString('en-US')}, changed ${r.changed.toLocaleString('en-US')}, ${r.linksAdded.toLocaleString('en-US')} links added`, ms(r.wallMs)]);
    if (r.profile) table.push([`where rematch's time goes (node --cpu-prof, one more run, ${formatNumber(r.profile.wallSeconds, 1)} s)`, stageLine(r.profile)]);
  }
  if (results.startup) {
    const s = results.startup;
    table.push(header(`5. Startup: whole process, ${s.repetitions} runs each (after one warm-up run)`, 2));
    table.push(['crm-mail --help', ms(s.help)]);
    for (const status of s.status) table.push([`crm-mail status (${status.database})`, ms(status.wallMs)]);
  }
  if (results.relationships) {
    const r = results.relationships;
    table.push(header(`5b. Relationship commands: ${n(r.storedMessages)} stored copies, whole process, ${r.repetitions} runs each (after one warm-up run)`, 2));
    table.push([`${r.investors.command} (${n(r.investors.answered)} investors)`, ms(r.investors.wallMs)]);
    table.push([`${r.investor.command} (the investor with the most person-to-person mail: ${n(r.investor.investorCopies)} copies, ${n(r.investor.answered)} entries)`, ms(r.investor.wallMs)]);
    table.push([`${r.searchRare.command} (rare: in ${n(r.searchRare.messagesWithWord)} messages; ${r.searchRare.answered} shown)`, ms(r.searchRare.wallMs)]);
    table.push([`${r.searchCommon.command} (common: in ${n(r.searchCommon.messagesWithWord)} messages; ${r.searchCommon.answered} shown)`, ms(r.searchCommon.wallMs)]);
    table.push(['full-text index (email_search and its shadow tables) / whole database', `${formatNumber(r.indexBytes / 1024 ** 2, 1)} MB of ${formatNumber(r.databaseBytes / 1024 ** 2, 1)} MB = ${formatNumber(r.indexShare * 100, 1)}%`]);
  }
  if (results.drafting) {
    const d = results.drafting;
    const rows = (label: string, x: NonNullable<Results['drafting']>['tiny']): void => {
      table.push([`${label}: load time (binding + model + context)`, ms(x.modelLoadMs)]);
      table.push([`${label}: notes drafted per second (1 thread)`, formatSummary(x.notesPerSec, '/s')]);
      table.push([`${label}: tokens in / out per note`, `${x.inputTokensPerNote} / ${x.outputTokensPerNote}`]);
      table.push([`${label}: propose, proposals per second (20 candidates, load included)`, formatSummary(x.llamaProposalsPerSec, '/s')]);
    };
    table.push(header(`6. Drafting: ${d.repetitions} run(s) of bench/drafting.ts`, 2));
    rows(`generated tiny model (${Math.round(d.tiny.modelBytes / 1024)} KB)`, d.tiny);
    table.push(['rule drafter: propose, proposals per second (500 candidates)', formatSummary(d.tiny.ruleProposalsPerSec, '/s', 0)]);
    if (d.custom) rows(`CRM_MAIL_MODEL ${d.custom.modelPath}`, d.custom);
  }
  if (table.length > 0) out.push(table.toString(), '');

  if (results.targets) {
    const targets = new Table({ head: ['target (issues 12 and 9)', 'measured', 'verdict'], style: { head: [], border: [] }, colWidths: [56, 64, 14], wordWrap: true });
    for (const target of results.targets) targets.push([target.target, target.note ? `${target.measured} [${target.note}]` : target.measured, target.verdict]);
    out.push(targets.toString());
  }
  if (results.notMeasured.length > 0) out.push('', 'Not measured in this run:', ...results.notMeasured.map((line) => `- ${line}`));
  return out.join('\n') + '\n';
}


