/**
 * Prints a results file of `npm run bench` as the Markdown figures table of docs/performance.md (and
 * README's performance section), so the published figures are copied from a run, never retyped.
 *
 *   npm run build && node dist/bench/markdown.js [bench/results/latest.json]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from './lib/crm-cli.js';
import { formatNumber, formatSummary, type Summary } from './lib/stats.js';
import { STAGE_LABELS, type Stage } from './lib/cpu-profile.js';
import type { Results } from './run.js';
import { modelFacts } from './lib/quota.js';
import { perCopyBreakdown, RATIO_GOAL, stageLine, UNITS_PER_COPY_GOAL_2026, type TargetId } from './report.js';

const pct = (value: number): string => `${formatNumber(value * 100, 1)}%`;
const range = (summary: Summary, unit: string, digits?: number): string => formatSummary(summary, unit, digits).replace(/\((.*)\)/, '($1)');

export function markdown(results: Results): string {
  const lines: string[] = [];
  const m = results.machine;
  lines.push(`Measured with \`${results.command}\` (${results.mode} mode) on ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB memory, ${m.platform}, Node ${m.node}; load average ${m.loadAverageAtStart.join(' / ')} at start. Median of the runs, (min-max) when they differ.`);
  lines.push('');
  lines.push('| figure | measured | target | verdict |');
  lines.push('|---|---|---|---|');
  const verdict = (id: TargetId): string => results.targets?.find((target) => target.id === id)?.verdict ?? '';
  for (const model of ['2026', 'legacy'] as const) {
    const q = results.quota?.[model];
    if (!q) continue;
    const firm = q.firm;
    const per = modelFacts(model).per;
    const ratioId = `backfill-ratio-${model}` as const;
    lines.push(
      `| **${model} model** backfill (${results.firm?.description.split(':')[0]}, ${results.firm?.partners} mailboxes; emulator ${q.emulatorUserLimit.toLocaleString('en-US')} units per ${per} per user, get ${q.unitsPerGet}; crm-mail ${q.budgetSource}; ${q.accountConcurrency} at once; ${q.repetitions} run(s)): wall time / quota-bound ideal, per account | ` +
        `slowest account ${formatNumber(firm.worstRatioToIdeal, 3)}x, median account ${formatNumber(firm.medianRatioToIdeal, 3)}x | <= ${RATIO_GOAL}x | ${verdict(ratioId)} |`,
    );
    for (const account of q.perAccount) {
      lines.push(
        `| &nbsp;&nbsp;${account.account} (${account.mailboxMessages.toLocaleString('en-US')} messages; stored ${account.stored.toLocaleString('en-US')}, of which investor mail ${account.storedInvestor.toLocaleString('en-US')} of ${account.investorMessagesInMailbox.toLocaleString('en-US')}) | ` +
          `${range(account.wallSeconds, ' s', 1)} vs ideal ${formatNumber(account.idealSeconds, 1)} s = ${range(account.ratioToIdeal, 'x', 3)} (floor ${formatNumber(account.spendFloorSeconds.median, 0)} s); ` +
          `${range(account.apiCalls, ' calls', 0)}, ${range(account.units, ' units', 0)} = ${formatNumber(account.unitsPerStoredCopy.median, 2)} per stored copy (${perCopyBreakdown(account.unitsPerCopyByMethod)}); ` +
          `peak window ${range(account.peakWindowUnits, '', 0)} of ${q.budget.toLocaleString('en-US')}; ${range(account.refusedQuota, '', 0)} refused | | |`,
      );
    }
    lines.push(
      `| ${model}: quota units per stored mailbox copy (emulator's meter; crm-mail's own count) | ${range(firm.unitsPerStoredCopy, '', 2)} (${range(firm.clientUnitsPerStoredCopy, '', 2)}) | ${model === '2026' ? `<= ${UNITS_PER_COPY_GOAL_2026}` : ''} | ${model === '2026' ? verdict('units-per-copy-2026') : ''} |`,
    );
    lines.push(
      `| ${model}: highest peakWindowUnits of any account vs the budget; calls refused for quota | ${firm.maxPeakWindowUnits.toLocaleString('en-US')} of ${q.budget.toLocaleString('en-US')} (Gmail allows ${q.emulatorUserLimit.toLocaleString('en-US')}); ${firm.refusedQuota} refused | <= budget, 0 | ${verdict(`quota-respected-${model}`)} |`,
    );
    lines.push(`| ${model}: the whole firm's sync process: wall time (over the largest account's ideal); peak RSS; CPU time | ${range(firm.processWallSeconds, ' s', 1)} (${range(firm.processRatioToSlowestIdeal, 'x', 3)}); ${range(firm.peakRssMb, ' MB', 1)}; ${range(firm.processCpuSeconds, ' s', 1)} | | |`);
    if (q.versusNaive && q.naive) {
      const v = q.versusNaive;
      lines.push(`| ${model}: quota units, crm-mail vs naive baseline (list all + get every message raw; units exact) | ${v.crmUnits.toLocaleString('en-US')} vs ${v.naiveUnits.toLocaleString('en-US')}: ${formatNumber(v.timesFewerUnits, 1)}x fewer (ratio ${formatNumber(v.unitsRatio, 3)}) | >= 10x fewer | ${model === (results.quota?.['2026'] ? '2026' : 'legacy') ? verdict('units-vs-naive') : ''} |`);
      const how = q.naive.wallMethod === 'timed sample' ? `extrapolated from ${q.naive.sampleMessages} raw gets timed at ${formatNumber(q.naive.sampleRawPerSec ?? Number.NaN, 1)}/s` : `quota-bound: messages x ${q.unitsPerGet} / ${q.budget.toLocaleString('en-US')} per ${per}, not timed`;
      lines.push(`| ${model}: wall time, crm-mail vs naive (sum over accounts; naive ${how}) | ${formatNumber(v.crmWallSeconds, 0)} s vs ${formatNumber(v.naiveWallSeconds, 0)} s (ratio ${formatNumber(v.wallRatio, 3)}) | | |`);
    }
  }
  const single = results.quotaSingle;
  if (single) {
    const a = single.perAccount[0]!;
    lines.push(`| the same backfill of ${a.account} alone in its process (${single.model} model, 1 run) | ${range(a.wallSeconds, ' s', 1)} = ${range(a.ratioToIdeal, 'x', 3)} the ideal | | |`);
  }
  const l = results.local;
  if (l) {
    lines.push(`| local ceiling, quota off (${l.account}, ${l.mailboxMessages.toLocaleString('en-US')} messages, ${l.storedPerRun.toLocaleString('en-US')} stored) | ${range(l.storedPerSec, ' stored/s', 0)} over the account's run; ${range(l.storedPerProcessSec, '/s', 0)} over the whole process | >= 2,000/s | ${verdict('local-ceiling')} |`);
    if (l.profile) {
      const p = l.profile;
      const order = (Object.keys(p.ms) as Stage[]).filter((stage) => stage !== 'idle').sort((a, b) => p.ms[b] - p.ms[a]).slice(0, 5);
      lines.push(`| where the local ceiling's time goes (node --cpu-prof, share of busy CPU time) | ${order.map((stage) => `${STAGE_LABELS[stage]} ${pct(p.shareOfBusy[stage] ?? 0)}`).join('; ')}; idle ${pct(p.ms.idle / p.totalMs)} of samples | | |`);
    }
  }
  const pipe = results.pipeline;
  if (pipe) lines.push(`| pipeline stages alone, one core (bench/pipeline.ts) | parse+match ${pipe.parseMatchPerSecond.toLocaleString('en-US')}/s (corpus, ${pipe.averageMessageBytes} B average); capture into SQLite ${pipe.capturePerSecond.toLocaleString('en-US')}/s | | |`);
  for (const model of ['2026', 'legacy'] as const) {
    const n = results.noop?.[model];
    if (!n) continue;
    lines.push(`| ${model}: incremental, no new mail (${n.accounts} accounts, \`crm-mail sync\` with propose): API calls and units per account | ${formatSummary(n.apiCallsPerAccount)} calls (${Object.entries(n.byMethod).map(([method, count]) => `${method} ${count}`).join(', ')}), ${formatSummary(n.unitsPerAccount)} units | <= 2 calls | ${verdict('noop-calls')} |`);
    lines.push(`| ${model}: incremental, no new mail: whole process, startup included | ${range(n.wallMs, ' ms', 0)} | < 1.5 s | ${verdict('noop-wall')} |`);
  }
  const mem = results.memory;
  if (mem) {
    mem.points.forEach((point, index) => {
      const largest = index === mem.points.length - 1;
      lines.push(`| peak RSS, single-account backfill of ${point.mailboxMessages.toLocaleString('en-US')} messages (quota off; ${point.stored.toLocaleString('en-US')} stored) | ${range(point.peakRssMb, ' MB', 1)} | ${largest ? '< 250 MB' : ''} | ${largest ? verdict('rss-peak') : ''} |`);
    });
    lines.push(`| peak RSS growth, ${mem.points[0]!.mailboxMessages.toLocaleString('en-US')} -> ${mem.points[mem.points.length - 1]!.mailboxMessages.toLocaleString('en-US')} messages | x${formatNumber(mem.growth, 2)} | flat (<= x1.10) | ${verdict('rss-flat')} |`);
  }
  const r = results.rematch;
  if (r?.profile) lines.push(`| where rematch's time goes (node --cpu-prof, share of busy CPU time) | ${stageLine(r.profile)} | | |`);
  if (r) lines.push(`| \`crm-mail rematch\` over ${r.storedMessages.toLocaleString('en-US')} stored messages after adding ${r.investorsAdded} investors (whole process; ${r.linksAdded.toLocaleString('en-US')} links added) | ${range(r.wallMs, ' ms', 0)} | < 5 s | ${verdict('rematch')} |`);
  const s = results.startup;
  if (s) {
    lines.push(`| \`crm-mail --help\` (whole process) | ${range(s.help, ' ms', 0)} | < 300 ms | ${verdict('help')} |`);
    for (const status of s.status) lines.push(`| \`crm-mail status\`, ${status.database} | ${range(status.wallMs, ' ms', 0)} | | |`);
  }
  const rel = results.relationships;
  if (rel) {
    const on = `${rel.storedMessages.toLocaleString('en-US')} stored copies, whole process`;
    lines.push(`| \`crm-mail investors\`, the whole table (${rel.investors.answered} investors; ${on}) | ${range(rel.investors.wallMs, ' ms', 0)} | < 1 s | ${verdict('investors-table')} |`);
    lines.push(`| \`crm-mail investor <id>\`, the longest timeline (${rel.investor.answered} entries; ${on}) | ${range(rel.investor.wallMs, ' ms', 0)} | < 300 ms | ${verdict('investor-timeline')} |`);
    lines.push(`| \`crm-mail search\`, a rare word (in ${rel.searchRare.messagesWithWord.toLocaleString('en-US')} messages; ${on}) | ${range(rel.searchRare.wallMs, ' ms', 0)} | < 300 ms | ${verdict('search-rare')} |`);
    lines.push(`| \`crm-mail search\`, a common word (in ${rel.searchCommon.messagesWithWord.toLocaleString('en-US')} messages; ${on}) | ${range(rel.searchCommon.wallMs, ' ms', 0)} | < 300 ms | ${verdict('search-common')} |`);
    lines.push(`| full-text index / whole database | ${formatNumber(rel.indexBytes / 1024 ** 2, 1)} MB of ${formatNumber(rel.databaseBytes / 1024 ** 2, 1)} MB (${formatNumber(rel.indexShare * 100, 1)}%) | | |`);
  }
  const dr = results.drafting;
  if (dr) {
    lines.push(`| drafting, generated tiny model (${Math.round(dr.tiny.modelBytes / 1024)} KB): load; notes/s; tokens in/out per note | ${range(dr.tiny.modelLoadMs, ' ms', 0)}; ${range(dr.tiny.notesPerSec, '/s')}; ${dr.tiny.inputTokensPerNote}/${dr.tiny.outputTokensPerNote} | | |`);
    lines.push(`| propose: proposals/s, tiny model (20, load included) vs rule drafter (500) | ${range(dr.tiny.llamaProposalsPerSec, '/s')} vs ${range(dr.tiny.ruleProposalsPerSec, '/s', 0)} | | |`);
    if (dr.custom) lines.push(`| drafting, CRM_MAIL_MODEL ${dr.custom.modelPath}: load; notes/s; tokens in/out | ${range(dr.custom.modelLoadMs, ' ms', 0)}; ${range(dr.custom.notesPerSec, '/s')}; ${dr.custom.inputTokensPerNote}/${dr.custom.outputTokensPerNote} | | |`);
  }
  if (results.notMeasured.length > 0) lines.push('', 'Not measured in that run: ' + results.notMeasured.join('; ') + '.');
  return lines.join('\n') + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = process.argv[2] ?? join(PROJECT_ROOT, 'bench', 'results', 'latest.json');
  process.stdout.write(markdown(JSON.parse(readFileSync(path, 'utf8')) as Results));
}
