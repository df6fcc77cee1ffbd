import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { requireGmailSettings } from '../../config.js';
import { EXIT, UsageError, exitCodeOfKind, mostSevereExit } from '../../errors.js';
import type { AccountSyncResult } from '../../sync/accountSync.js';
import type { LeaseHolder, TakeoverReason } from '../../db/lease.js';
import { FailuresReporter, PlainReporter, SilentReporter, TtyReporter, runDetailLines } from '../../sync/report.js';
import { inertLine } from '../output.js';
import type { SyncReporter } from '../../sync/runSync.js';

export function leaseHeldLine(holder: LeaseHolder, what = 'sync'): string {
  return `another crm-mail sync is running (pid ${holder.pid} on ${holder.host} since ${holder.acquiredAt}; lease until ${holder.expiresAt}): this ${what} exits without doing anything.`;
}

/** What a takeover means: the previous holder's lease ran out (it may still be running, and will stop), or its process is gone. */
function takeoverLine(holder: LeaseHolder, reason: TakeoverReason | undefined): string {
  const who = `pid ${holder.pid} on ${holder.host}`;
  if (reason === 'not_running') return `note: took over the lease of ${who}: that process is no longer running.`;
  return (
    `note: took over the lease of ${who}: its lease expired at ${holder.expiresAt} without being renewed. ` +
    'If that sync is still running (stalled), it stops at its next page boundary.'
  );
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

/** --max-minutes: a positive number of minutes (fractions allowed, for tests and impatient admins). */
export function parseMaxMinutes(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0) || value > 1440) {
    throw new UsageError(`--max-minutes ${JSON.stringify(text)} is not valid: expected minutes, more than 0 and at most 1440 (e.g. 13 or 0.5).`);
  }
  return value;
}

/** The most severe account outcome decides (README, "Exit codes"); a failed propose step counts as 1. */
export function syncExitCode(results: Pick<AccountSyncResult, 'status' | 'errorKind'>[], proposeFailed: boolean): number {
  const codes = results.map((result) => (result.status === 'ok' ? EXIT.ok : exitCodeOfKind(result.errorKind)));
  if (proposeFailed) codes.push(EXIT.failure);
  return mostSevereExit(codes);
}

export function registerSync(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('capture new mail of every active account (backfill first, then incremental), then propose notes')
    .option('--account <email>', 'only this account')
    .option('--no-propose', 'skip the post-sync propose step')
    .option('--max-minutes <minutes>', 'stop starting new work after this long; the next run resumes exactly there (default CRM_GMAIL_SYNC_MAX_MIN: 2 below the cron interval)')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail --env-file /etc/crm-mail/crm-mail.env sync          # what cron runs every 15 minutes
  $ crm-mail sync --account jane@northwind.vc --no-propose
  $ crm-mail sync --max-minutes 45                              # a long first backfill by hand
  $ crm-mail --json sync | jq '.accounts[] | {account, status, stored, deferred}'

A first run backfills each mailbox (investor mail only, fetched once each, checkpointed every 100
messages: a killed or time-limited run resumes exactly where it stopped); later runs read Gmail's
history. Gmail's quota decides the pace: under the 2026 model (CRM_GMAIL_QUOTA_MODEL) an account
reads about 270 messages a minute, so a large first backfill spans several cron runs, each
stopping itself after --max-minutes. A message Gmail keeps failing is deferred to the next run,
never given up; a rate-limit answer is waited out. Only one sync runs at a time: an overlapping
run prints one line and exits 0.
With --verbose, stderr gets per account the path taken (backfill, incremental, resume, or the
re-list when the cursor expired or went stale), each Gmail method's calls, units, retries and
rate-limit answers (throttled), the time waited for quota, and the messages deferred.
Exit codes: 0 every account synced; otherwise the most severe account outcome (the others still
ran): 4 auth or key file, 2 configuration, 9 permanent, 7 not found, 1 another failure, 10 the
CRM held its database write lock longer than CRM_GMAIL_DB_LOCK_WAIT_SEC (the run is recorded, the
cursor kept), 5 Gmail unavailable, 11 this sync stalled longer than its lease
(CRM_GMAIL_LEASE_SECONDS), another took it over, and this one stopped at a page boundary;
3 integration off. A shorter CRM lock is
waited out.`,
    )
    .action(async (options: { account?: string; propose: boolean; maxMinutes?: string }) => {
      ctx.requireGmail('sync');
      requireGmailSettings(ctx.config);
      const maxMinutes = parseMaxMinutes(options.maxMinutes, ctx.config.syncMaxMin);
      const db = ctx.db();
      const out = ctx.out;
      const { runSync } = await import('../../sync/runSync.js');
      const { syncEnvironment } = await import('../../sync/wiring.js');
      const stderr = process.stderr as NodeJS.WriteStream;
      let reporter: SyncReporter;
      if (out.json) reporter = new SilentReporter();
      else if (out.quiet) reporter = new FailuresReporter({ write: (text) => out.stderrWrite(text) });
      else if (out.isTTY && stderr.isTTY) reporter = new TtyReporter(stderr, stderr.columns || 100);
      else reporter = new PlainReporter({ write: (text) => out.write(text) });

      const outcome = await runSync(syncEnvironment(db, ctx.config, reporter, (line) => out.info(line)), { account: options.account, deadline: Date.now() + maxMinutes * 60_000 });
      if (!outcome.ran) {
        if (out.json) out.data({ ran: false, reason: 'lease_held', holder: outcome.holder });
        else out.line(leaseHeldLine(outcome.holder));
        return;
      }
      const results = outcome.results;
      // After the run, not during it: on a terminal the live lines redraw over anything written meanwhile.
      for (const result of results) for (const line of runDetailLines(result.account, { ...result, ...result.counts })) out.debug(inertLine(line));
      if (outcome.tookOverFrom) out.info(takeoverLine(outcome.tookOverFrom, outcome.takeoverReason));
      if (outcome.tempFilesSwept > 0) out.info(`note: removed ${outcome.tempFilesSwept} half-written attachment file(s) left by an interrupted download.`);
      if (outcome.interruptedRunsClosed > 0) {
        // After an expired lease the process may still be alive (stalled): it is not known to have stopped.
        const whose = outcome.takeoverReason === 'expired' ? 'of the sync whose lease expired' : 'from a stopped process';
        out.info(`note: ${outcome.interruptedRunsClosed} interrupted run(s) ${whose} were closed; this run resumed from their checkpoints.`);
      }
      if (results.length === 0 && !out.json) out.line('no active accounts to sync: enroll some with crm-mail enroll-all');
      const allOk = results.every((result) => result.status === 'ok');
      const lost = results.find((result) => result.errorKind === 'lease_lost');
      if (lost) out.info(`stopped: ${lost.error}`);
      let propose: { status: string; line: string; result?: unknown } | undefined;
      // After a lost lease the sync that took it over proposes; this one stops here.
      if (options.propose && !lost && results.some((result) => result.status === 'ok')) {
        const { proposeAfterSync } = await import('../../sync/postSync.js');
        propose = await proposeAfterSync(db, ctx.config, (line) => out.debug(line));
        if (!out.json) out.line(propose.line);
      }
      ctx.exitCode = syncExitCode(results, propose?.status === 'error');
      if (out.json) {
        out.data({ ran: true, ok: allOk, accounts: results.map(resultJson), propose: propose ?? (options.propose ? { status: 'skipped', line: 'no account synced' } : { status: 'disabled' }) });
      }
    });
}
