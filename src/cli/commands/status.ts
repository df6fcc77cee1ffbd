import type { Command } from 'commander';
import Table from 'cli-table3';
import type { CliContext } from '../context.js';
import { inertLine } from '../output.js';
import { EXIT } from '../../errors.js';
import { buildStatus, formatAge, type AccountStatusReport } from '../../sync/status.js';
import { fmt, formatDuration, tableStyle } from '../../sync/report.js';

function stateCell(report: AccountStatusReport): string {
  return report.health === 'ok' ? 'ok' : `${report.health.replace('_', ' ')}${report.alert ? ' (!)' : ''}`;
}

function lastRunCell(report: AccountStatusReport): string {
  const run = report.lastRun;
  if (!run) return '-';
  const duration = run.durationMs === null ? 'running' : formatDuration(run.durationMs);
  return `${run.kind} ${run.status}: ${fmt(run.apiCalls)} calls, ${fmt(run.apiUnits)} units, ${duration}`;
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('health of every enrolled mailbox; exits 1 when one is failing or has not synced in twice the cron interval')
    .option('--account <email>', 'only this account')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail status
  $ crm-mail status --json | jq '.accounts[] | select(.alert)'
  $ crm-mail status >/dev/null || notify-admin "crm-mail sync needs attention"

Exit codes: 0 every active account is healthy, 1 an account is failing, needs consent, or its last
success is older than 2 x CRM_GMAIL_SYNC_INTERVAL_MIN minutes.`,
    )
    .action((options: { account?: string }) => {
      const db = ctx.db({ mustExist: true });
      const report = buildStatus(db, { syncIntervalMin: ctx.config.syncIntervalMin, account: options.account });
      if (report.alerts > 0) ctx.exitCode = EXIT.failure;
      if (ctx.out.json) return ctx.out.data(report);
      if (report.accounts.length === 0) {
        ctx.out.line('no accounts enrolled: run crm-mail enroll-all');
        return;
      }
      const table = new Table({
        style: tableStyle(ctx.out.isTTY),
        head: ['account', 'state', 'last success', 'last error', 'cursor age', 'stored', 'matched', 'pending att.', 'last run'],
        colWidths: [null, null, null, report.accounts.some((row) => row.lastError && row.consecutiveFailures > 0) ? 40 : null, null, null, null, null, null] as unknown as number[],
        wordWrap: true,
      });
      for (const row of report.accounts) {
        table.push([
          row.email,
          stateCell(row),
          row.lastSuccessAt ? `${row.lastSuccessAt.slice(0, 16).replace('T', ' ')} (${formatAge(Date.parse(report.generatedAt) - Date.parse(row.lastSuccessAt))} ago)` : 'never',
          row.lastError && row.consecutiveFailures > 0 ? inertLine(row.lastError).slice(0, 200) : '-',
          formatAge(row.cursorAgeMs),
          fmt(row.stored),
          fmt(row.matched),
          fmt(row.pendingAttachments),
          lastRunCell(row),
        ]);
      }
      ctx.out.line(table.toString());
      for (const row of report.accounts.filter((item) => item.alert)) ctx.out.line(`! ${row.email}: ${row.reason}`);
      if (report.alerts === 0) ctx.out.line(`no alerts (${report.accounts.length} accounts, cron interval ${report.syncIntervalMin} min)`);
    });
}
