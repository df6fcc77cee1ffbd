/**
 * The suite's printed report (tables) and the verdict on each of issue 9's targets. The verdict
 * only reads the measured figures: nothing here changes how anything is measured.
 */
import Table from 'cli-table3';
import { STAGE_LABELS, type Stage } from './lib/cpu-profile.js';
import { formatNumber, formatSummary, type Summary } from './lib/stats.js';
import type { QuotaBackfillResult } from './sections/backfill.js';
import type { Results } from './run.js';

export type Verdict = 'met' | 'missed' | 'not measured';

export type TargetId = 'fetch-rate' | 'units-vs-naive' | 'local-ceiling' | 'noop-calls' | 'noop-wall' | 'rss-peak' | 'rss-flat' | 'rematch' | 'help';

export interface TargetVerdict {
  id: TargetId;
  target: string;
  measured: string;
  verdict: Verdict;
  note?: string;
}

const pct = (share: number): string => `${formatNumber(share * 100, 1)}%`;
const pctSummary = (summary: Summary): string =>
  summary.runs.length > 1 && summary.min !== summary.max ? `${pct(summary.median)} (${pct(summary.min)}-${pct(summary.max)})` : pct(summary.median);
const ms = (summary: Summary): string => formatSummary(summary, ' ms', 0);

export function targetsOf(results: Results): TargetVerdict[] {
  const quick = results.mode === 'quick' ? 'quick mode: smaller sizes than the target names; indicative only' : undefined;
  const verdicts: TargetVerdict[] = [];
  const quota = results.quota;
  verdicts.push(
    quota
      ? {
          id: 'fetch-rate',
          target: 'backfill at >= 90% of the quota ceiling (50 messages.get/s per user) for the messages it must fetch',
          measured: `lowest account ${pct(quota.firm.lowestShareOfGetCeiling)}, median account ${pct(quota.firm.medianShareOfGetCeiling)} (CRM_GMAIL_RATE_UNITS_SEC=${quota.clientRateUnitsPerSec})` +
            (results.quotaSingle ? `; one account alone in its process: ${pct(results.quotaSingle.firm.lowestShareOfGetCeiling)}` : '') +
            (results.defaultRate ? `; at the default 150: lowest ${pct(results.defaultRate.firm.lowestShareOfGetCeiling)} (at most 60% by that setting)` : ''),
          verdict: quota.firm.lowestShareOfGetCeiling >= 0.9 ? 'met' : 'missed',
          note: quick,
        }
      : { id: 'fetch-rate', target: 'backfill at >= 90% of the quota ceiling', measured: '-', verdict: 'not measured' },
  );
  verdicts.push(
    quota?.versusNaive
      ? {
          id: 'units-vs-naive',
          target: '>= 10x fewer quota units than the naive baseline on this firm',
          measured: `${formatNumber(quota.versusNaive.timesFewerUnits, 1)}x fewer (${quota.versusNaive.crmUnits.toLocaleString('en-US')} vs ${quota.versusNaive.naiveUnits.toLocaleString('en-US')} units)`,
          verdict: quota.versusNaive.timesFewerUnits >= 10 ? 'met' : 'missed',
          note: quick,
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
          note: quick,
        }
      : { id: 'local-ceiling', target: 'local ceiling >= 2,000 messages per second', measured: '-', verdict: 'not measured' },
  );
  const noop = results.noop;
  if (noop) {
    verdicts.push({
      id: 'noop-calls',
      target: 'no-op incremental: <= 2 API calls per account',
      measured: `${formatSummary(noop.apiCallsPerAccount)} calls per account (${noop.accounts} accounts)`,
      verdict: noop.apiCallsPerAccount.max <= 2 ? 'met' : 'missed',
    });
    verdicts.push({
      id: 'noop-wall',
      target: 'no-op incremental: whole crm-mail sync process under 1.5 s',
      measured: ms(noop.wallMs),
      verdict: noop.wallMs.median < 1500 ? 'met' : 'missed',
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
      target: `peak RSS under 250 MB (${biggest.mailboxMessages.toLocaleString('en-US')}-message backfill)`,
      measured: formatSummary(biggest.peakRssMb, ' MB', 1),
      verdict: biggest.peakRssMb.max < 250 ? 'met' : 'missed',
      note: quick,
    });
    verdicts.push({
      id: 'rss-flat',
      target: `peak RSS flat from ${smallest.mailboxMessages.toLocaleString('en-US')} to ${biggest.mailboxMessages.toLocaleString('en-US')} messages (read here as: grows by 10% or less)`,
      measured: `${formatNumber(smallest.peakRssMb.median, 1)} MB -> ${formatNumber(biggest.peakRssMb.median, 1)} MB (x${formatNumber(memory.growth, 2)})`,
      verdict: memory.growth <= 1.1 ? 'met' : 'missed',
      note: quick,
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
          target: `rematch of ${rematch.storedMessages.toLocaleString('en-US')} messages under 5 s (whole process)`,
          measured: ms(rematch.wallMs),
          verdict: rematch.wallMs.median < 5000 ? 'met' : 'missed',
          note: rematch.storedMessages < 100_000 ? quick : undefined,
        }
      : { id: 'rematch', target: 'rematch of 100,000 messages under 5 s', measured: '-', verdict: 'not measured' },
  );
  const startup = results.startup;
  verdicts.push(
    startup
      ? { id: 'help', target: 'crm-mail --help under 300 ms', measured: ms(startup.help), verdict: startup.help.median < 300 ? 'met' : 'missed' }
      : { id: 'help', target: 'crm-mail --help under 300 ms', measured: '-', verdict: 'not measured' },
  );
  return verdicts;
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

function accountTable(title: string, quota: QuotaBackfillResult | Omit<QuotaBackfillResult, 'lastFirm'>): string {
  const withNaive = quota.perAccount.some((account) => account.unitsVsNaive !== undefined);
  const head = ['account', 'mailbox', 'investor mail stored/in mailbox', 'other stored', 'wall s', 'API calls', 'units', 'units/stored', 'units/investor msg', 'get/s', '% of 50 get/s', '429s'];
  if (withNaive) head.push('units vs naive', 'wall vs naive');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const account of quota.perAccount) {
    const row = [
      account.account,
      account.mailboxMessages.toLocaleString('en-US'),
      `${account.storedInvestor.toLocaleString('en-US')}/${account.investorMessagesInMailbox.toLocaleString('en-US')}`,
      account.storedOther.toLocaleString('en-US'),
      formatSummary(account.wallSeconds, '', 1),
      formatSummary(account.apiCalls, '', 0),
      formatSummary(account.units, '', 0),
      formatSummary(account.unitsPerStoredMessage, '', 2),
      formatSummary(account.unitsPerStoredInvestorMessage, '', 2),
      formatSummary(account.getsPerSec, '', 1),
      pctSummary(account.shareOfGetCeiling),
      formatSummary(account.refusedByEmulator, '', 0),
    ];
    if (withNaive) row.push(account.unitsVsNaive === undefined ? '-' : `${formatNumber(account.unitsVsNaive, 3)}x`, account.wallVsNaive === undefined ? '-' : `${formatNumber(account.wallVsNaive, 3)}x`);
    table.push(row);
  }
  const firm = quota.firm;
  const total = [
    'whole firm',
    '',
    `${firm.storedInvestor.toLocaleString('en-US')}/${firm.investorMessagesInMailboxes.toLocaleString('en-US')}`,
    (firm.stored - firm.storedInvestor).toLocaleString('en-US'),
    `process ${formatSummary(firm.processWallSeconds, '', 1)}`,
    '',
    formatSummary(firm.units, '', 0),
    formatNumber(firm.units.median / Math.max(1, firm.stored), 2),
    formatNumber(firm.units.median / Math.max(1, firm.storedInvestor), 2),
    '',
    `median ${pct(firm.medianShareOfGetCeiling)}`,
    '',
  ];
  if (withNaive && quota.versusNaive) total.push(`${formatNumber(quota.versusNaive.unitsRatio, 3)}x`, `${formatNumber(quota.versusNaive.wallRatio, 3)}x`);
  else if (withNaive) total.push('', '');
  table.push(total);
  return (
    `${title}\n${table.toString()}\n` +
    `sync process: peak RSS ${formatSummary(firm.peakRssMb, ' MB', 1)}; CPU time ${formatSummary(firm.processCpuSeconds, ' s', 1)} over ${formatSummary(firm.processWallSeconds, ' s', 1)} of wall time`
  );
}

export function renderReport(results: Results): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(`crm-mail benchmarks (${results.mode} mode): ${results.command}`);
  out.push(`machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB memory, ${m.platform}, Node ${m.node}; load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd?.join(' ') ?? '?'} at end`);
  out.push(`started ${results.startedAt}; median of several runs, (min-max) when the runs differ; loopback only`);
  if (results.firm) out.push(`firm: ${results.firm.description}; ${results.firm.partners} partners, ${results.firm.investors} investors`);
  out.push('');

  if (results.quota) {
    out.push(accountTable(`1. Backfill under quota: emulator 250 units/s per user, CRM_GMAIL_RATE_UNITS_SEC=${results.quota.clientRateUnitsPerSec}, ${results.quota.accountConcurrency} accounts at once, ${results.quota.repetitions} run(s)`, results.quota));
    const naive = results.quota.naive;
    if (naive) {
      const table = new Table({ head: ['account', 'messages listed', 'list s', 'list units', 'naive units (exact)', 'naive wall s (est.)'], style: { head: [], border: [] } });
      out.push(
        `Naive baseline (list everything, get every message raw; real client, same quota). Raw fetch timed on ${naive.sampleMessages} messages of ${naive.sampleAccount}: ` +
          `${formatNumber(naive.sampleRawPerSec, 1)} messages/s; each account's naive wall time is its measured listing time + its message count / that rate (extrapolated from a sample, not a full run).`,
      );
      for (const entry of naive.perAccount) {
        table.push([entry.account, entry.listedMessages.toLocaleString('en-US'), formatNumber(entry.listSeconds, 2), entry.listUnits.toLocaleString('en-US'), entry.units.toLocaleString('en-US'), formatNumber(entry.estimatedWallSeconds, 0)]);
      }
      out.push(table.toString());
      const v = results.quota.versusNaive;
      if (v) {
        out.push(
          `crm-mail vs naive (whole firm): ${v.crmUnits.toLocaleString('en-US')} vs ${v.naiveUnits.toLocaleString('en-US')} units = ${formatNumber(v.unitsRatio, 3)}x (${formatNumber(v.timesFewerUnits, 1)}x fewer); ` +
            `sum of account wall times ${formatNumber(v.crmWallSeconds, 0)} s vs ${formatNumber(v.naiveWallSeconds, 0)} s (est.) = ${formatNumber(v.wallRatio, 3)}x`,
        );
      }
    }
    out.push('');
  }
  if (results.quotaSingle) {
    out.push(accountTable(`1a. The first account's backfill alone in its process (same quota and rate), ${results.quotaSingle.repetitions} run: no other account competes for the process's one JS thread`, results.quotaSingle));
    out.push('');
  }
  if (results.defaultRate) {
    out.push(accountTable(`1b. The same backfill with crm-mail's default CRM_GMAIL_RATE_UNITS_SEC=150 (60% of Gmail's 250 by design), ${results.defaultRate.repetitions} run(s)`, results.defaultRate));
    out.push('');
  }

  const table = new Table({ head: ['figure', 'measured: median (min-max)'], style: { head: [], border: [] }, colWidths: [62, 70], wordWrap: true });
  if (results.local) {
    const local = results.local;
    table.push(header(`2. Local ceiling: the firm's first mailbox (${local.account}, ${local.mailboxMessages.toLocaleString('en-US')} messages), quota off, crm-mail's limiter at 100,000 units/s, ${local.repetitions} run(s)`, 2));
    table.push(['whole sync process; the account\'s own run (as crm-mail reports it)', `${formatSummary(local.processWallSeconds, ' s')}; ${formatSummary(local.accountRunSeconds, ' s')}`]);
    table.push([`messages stored (fetched, parsed, matched, written) per second of the account's run; ${local.storedPerRun.toLocaleString('en-US')} per run`, formatSummary(local.storedPerSec, '/s', 0)]);
    table.push(['the same per second of the whole process (startup, index build included)', formatSummary(local.storedPerProcessSec, '/s', 0)]);
    table.push([`headers fetched, parsed and matched per second of the account's run; ${local.fetchedMetadataPerRun.toLocaleString('en-US')} per run`, formatSummary(local.metadataPerSec, '/s', 0)]);
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
  if (results.noop) {
    const n = results.noop;
    table.push(header(`3. Incremental, no new mail: ${n.accounts} accounts, ${n.repetitions} runs of ${n.command}`, 2));
    table.push(['whole process wall time (startup included)', ms(n.wallMs)]);
    table.push(['API calls per account', formatSummary(n.apiCallsPerAccount)]);
    table.push(['quota units per account', formatSummary(n.unitsPerAccount)]);
    table.push(['API calls by method (last run, all accounts)', Object.entries(n.byMethod).map(([method, count]) => `${method} ${count}`).join(', ') || 'none']);
  }
  if (results.memory) {
    const mem = results.memory;
    table.push(header(`4. Memory: ${mem.scenario}; ${mem.repetitions} run(s) each`, 2));
    for (const point of mem.points) {
      table.push([
        `peak RSS, ${point.mailboxMessages.toLocaleString('en-US')}-message mailbox (${point.stored.toLocaleString('en-US')} stored, ${point.fetchedMetadata.toLocaleString('en-US')} headers fetched)`,
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
    const targets = new Table({ head: ['target (issue 9)', 'measured', 'verdict'], style: { head: [], border: [] }, colWidths: [56, 64, 14], wordWrap: true });
    for (const target of results.targets) targets.push([target.target, target.note ? `${target.measured} [${target.note}]` : target.measured, target.verdict]);
    out.push(targets.toString());
  }
  if (results.notMeasured.length > 0) out.push('', 'Not measured in this run:', ...results.notMeasured.map((line) => `- ${line}`));
  return out.join('\n') + '\n';
}


