import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { inertLine } from '../output.js';
import { EXIT } from '../../errors.js';
import { accountQuotaBudget } from '../../config.js';
import { buildStatus, formatAge, statusDetailLines, type AccountStatusReport } from '../../sync/status.js';
import { fmt, formatDuration } from '../../sync/report.js';
import { renderTable, tableWidth, type TableColumn } from '../tableFit.js';

function stateCell(report: AccountStatusReport): string {
  return report.health === 'ok' ? 'ok' : `${report.health.replace('_', ' ')}${report.alert ? ' (!)' : ''}`;
}

function progressCell(report: AccountStatusReport): string {
  const listing = report.listing;
  if (!listing) return report.backfill === 'done' ? 'done' : '-';
  const of = listing.estimate === null ? '' : `/~${fmt(listing.estimate)}`;
  const eta = listing.etaMs === null ? '' : `, ~${formatDuration(listing.etaMs)} of quota left`;
  return `${fmt(listing.handled)}${of}${eta}`;
}

function deferredCell(report: AccountStatusReport): string {
  if (report.deferred === 0) return '-';
  return `${fmt(report.deferred)} (since ${formatAge(Date.now() - Date.parse(report.deferredOldestAt ?? new Date().toISOString()))})`;
}

function lastRunCell(report: AccountStatusReport): string {
  const run = report.lastRun;
  if (!run) return '-';
  const duration = run.durationMs === null ? 'running' : formatDuration(run.durationMs);
  return `${run.kind} ${run.status}: ${fmt(run.apiCalls)} calls, ${fmt(run.apiUnits)} units, ${duration}`;
}

function unsearchableLine(report: AccountStatusReport): string {
  const terms = report.unsearchable.map(inertLine);
  return `note: ${report.email}: Gmail refuses to search ${terms.length === 1 ? 'the investor term' : `${terms.length} investor terms`} ${terms.join(', ')}; older mail of ${terms.length === 1 ? 'it' : 'them'} is not backfilled (new mail still arrives). Correct the address in the CRM, then run crm-mail rematch --remote`;
}

/** Account and state always show; on a narrow terminal the columns at the end of this order go first. */
const STATUS_COLUMNS: TableColumn[] = [
  { head: 'account', priority: 0, minWidth: 20, wrap: true },
  { head: 'state', priority: 0 },
  { head: 'last success', priority: 1, minWidth: 16, wrap: true },
  { head: 'last error', priority: 2, minWidth: 16, wrap: true },
  { head: 'cursor age', priority: 7 },
  { head: 'backfill', priority: 3, minWidth: 12, wrap: true },
  { head: 'stored', priority: 5, align: 'right' },
  { head: 'matched', priority: 5, align: 'right' },
  { head: 'deferred', priority: 4, minWidth: 8, wrap: true },
  { head: 'pending att.', priority: 4, align: 'right' },
  { head: 'last run', priority: 6, minWidth: 20, wrap: true },
];

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('health of every enrolled mailbox; exits 1 when one is failing or has not synced in twice the cron interval')
    .option('--account <email>', 'only this account')
    .option('--wide', 'show every column, however wide (by default the table fits the terminal, 80 columns when unknown)')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail status
  $ crm-mail status --json | jq '.accounts[] | select(.alert)'
  $ crm-mail status >/dev/null || notify-admin "crm-mail sync needs attention"

The backfill column shows messages settled of Gmail's estimate, and the time the rest needs at the
account's quota budget (CRM_GMAIL_QUOTA_MODEL, one get per message). The deferred column counts
messages Gmail kept failing; the next sync tries them first. A note names investor addresses or
domains Gmail refuses to search even alone (a 400): backfill skips them, new mail still arrives.
Exit codes: 0 every active account is healthy, 1 an account is failing, needs consent, has a
message deferred for more than a day, cannot store attachments (the folder cannot be written, or
a download failed on two runs or more), or its last success is older than 2 x
CRM_GMAIL_SYNC_INTERVAL_MIN minutes.
With --verbose, stderr gets each account's last run: when it started, the path it took, each Gmail
method's calls, units, retries and rate-limit answers (throttled), the time waited for quota, and
the messages deferred now.

The table fits the terminal (or $COLUMNS, else 80 columns): the last run, cursor age, counts and
backfill columns are hidden first and a last line names them; --wide shows them all.`,
    )
    .action(async (options: { account?: string; wide?: boolean }) => {
      const db = ctx.db();
      const { quotaModel, quotaRateOf } = await import('../../gmail/quotaModel.js');
      const quota = quotaRateOf(quotaModel(ctx.config.quotaModel), accountQuotaBudget(ctx.config));
      const report = buildStatus(db, { syncIntervalMin: ctx.config.syncIntervalMin, account: options.account, quota });
      if (report.alerts > 0) ctx.exitCode = EXIT.failure;
      if (ctx.out.verbose) for (const line of statusDetailLines(db, report)) ctx.out.debug(inertLine(line));
      if (ctx.out.json) return ctx.out.data(report);
      if (report.accounts.length === 0) {
        ctx.out.line('no accounts enrolled: run crm-mail enroll-all');
        return;
      }
      const rows = report.accounts.map((row) => [
        row.email,
        stateCell(row),
        row.lastSuccessAt ? `${row.lastSuccessAt.slice(0, 16).replace('T', ' ')} (${formatAge(Date.parse(report.generatedAt) - Date.parse(row.lastSuccessAt))} ago)` : 'never',
        row.lastError && row.consecutiveFailures > 0 ? inertLine(row.lastError).slice(0, 200) : '-',
        formatAge(row.cursorAgeMs),
        progressCell(row),
        fmt(row.stored),
        fmt(row.matched),
        deferredCell(row),
        fmt(row.pendingAttachments),
        lastRunCell(row),
      ]);
      ctx.out.write(renderTable(STATUS_COLUMNS, rows, { maxWidth: tableWidth({ wide: options.wide, isTTY: ctx.out.isTTY, env: ctx.env }), color: ctx.out.isTTY }));
      for (const row of report.accounts.filter((item) => item.alert)) ctx.out.line(`! ${row.email}: ${inertLine(row.reason)}`);
      for (const row of report.accounts.filter((item) => item.unsearchable.length > 0)) ctx.out.line(unsearchableLine(row));
      for (const row of report.accounts.filter((item) => !item.alert && item.attachmentError)) {
        ctx.out.line(`  ${row.email}: ${fmt(row.failedAttachments)} attachment download${row.failedAttachments === 1 ? '' : 's'} failed: ${inertLine(row.attachmentError)}; the next sync tries again`);
      }
      if (report.alerts === 0) ctx.out.line(`no alerts (${report.accounts.length} accounts, cron interval ${report.syncIntervalMin} min)`);
    });
}
