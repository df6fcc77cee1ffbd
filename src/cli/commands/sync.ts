import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { requireGmailSettings } from '../../config.js';
import { EXIT } from '../../errors.js';
import type { AccountSyncResult } from '../../sync/accountSync.js';
import type { LeaseHolder } from '../../db/lease.js';
import { PlainReporter, SilentReporter, TtyReporter } from '../../sync/report.js';
import type { SyncReporter } from '../../sync/runSync.js';

export function leaseHeldLine(holder: LeaseHolder, what = 'sync'): string {
  return `another crm-mail sync is running (pid ${holder.pid} on ${holder.host} since ${holder.acquiredAt}; lease until ${holder.expiresAt}): this ${what} exits without doing anything.`;
}

function resultJson(result: AccountSyncResult): Record<string, unknown> {
  return {
    account: result.account,
    kind: result.kind,
    status: result.status,
    durationMs: result.durationMs,
    ...result.counts,
    error: result.error ?? null,
    errorKind: result.errorKind ?? null,
    details: result.details,
  };
}

export function registerSync(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('capture new mail of every active account (backfill first, then incremental), then propose notes')
    .option('--account <email>', 'only this account')
    .option('--no-propose', 'skip the post-sync propose step')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail --env-file /etc/crm-mail/crm-mail.env sync          # what cron runs every 15 minutes
  $ crm-mail sync --account jane@northwind.vc --no-propose
  $ crm-mail --json sync | jq '.accounts[] | {account, status, stored}'

A first run backfills each mailbox (investor mail only, checkpointed page by page: a killed run
resumes where it stopped); later runs read Gmail's history. Only one sync runs at a time: an
overlapping run prints one line and exits 0.
Exit codes: 0 every account synced, 1 an account failed (the others still ran), 3 integration off.`,
    )
    .action(async (options: { account?: string; propose: boolean }) => {
      ctx.requireGmail('sync');
      requireGmailSettings(ctx.config);
      const db = ctx.db();
      const out = ctx.out;
      const { runSync } = await import('../../sync/runSync.js');
      const { syncEnvironment } = await import('../../sync/wiring.js');
      const stderr = process.stderr as NodeJS.WriteStream;
      let reporter: SyncReporter;
      if (out.json || out.quiet) reporter = new SilentReporter();
      else if (out.isTTY && stderr.isTTY) reporter = new TtyReporter(stderr, stderr.columns || 100);
      else reporter = new PlainReporter({ write: (text) => out.write(text) });

      const outcome = await runSync(syncEnvironment(db, ctx.config, reporter), { account: options.account });
      if (!outcome.ran) {
        if (out.json) out.data({ ran: false, reason: 'lease_held', holder: outcome.holder });
        else out.line(leaseHeldLine(outcome.holder));
        return;
      }
      const results = outcome.results;
      if (outcome.tookOverFrom) out.info(`note: took over the lease of pid ${outcome.tookOverFrom.pid} on ${outcome.tookOverFrom.host}, which had stopped.`);
      if (outcome.interruptedRunsClosed > 0) out.info(`note: ${outcome.interruptedRunsClosed} interrupted run(s) from a stopped process were closed; this run resumed from their checkpoints.`);
      if (results.length === 0 && !out.json) out.line('no active accounts to sync: enroll some with crm-mail enroll-all');
      const allOk = results.every((result) => result.status === 'ok');
      let propose: { status: string; line: string; result?: unknown } | undefined;
      if (options.propose && results.some((result) => result.status === 'ok')) {
        const { proposeAfterSync } = await import('../../sync/postSync.js');
        propose = await proposeAfterSync(db, ctx.config, (line) => out.debug(line));
        if (!out.json) out.line(propose.line);
      }
      if (!allOk || propose?.status === 'error') ctx.exitCode = EXIT.failure;
      if (out.json) {
        out.data({ ran: true, ok: allOk, accounts: results.map(resultJson), propose: propose ?? (options.propose ? { status: 'skipped', line: 'no account synced' } : { status: 'disabled' }) });
      }
    });
}
