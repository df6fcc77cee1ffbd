import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT, UsageError } from '../../errors.js';
import { crashHook, purgeLine } from '../purgeOutput.js';
import { leaseHeldLine } from './sync.js';

const LEASE_WAIT_MS = 10 * 60 * 1000;

function parseDays(text: string | undefined, fromEnv: number | undefined): number {
  if (text === undefined) {
    if (fromEnv === undefined) throw new UsageError('say how old: --older-than DAYS, or set CRM_GMAIL_RETENTION_DAYS.');
    return fromEnv;
  }
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > 36_500) throw new UsageError(`--older-than must be a whole number of days from 1 to 36500 (got ${JSON.stringify(text)}).`);
  return Number(text);
}

export function registerPurge(program: Command, ctx: CliContext): void {
  program
    .command('purge')
    .description('drop bodies and attachments of mail older than N days (retention); headers, links and approved notes stay')
    .option('--older-than <days>', 'age in days (default $CRM_GMAIL_RETENTION_DAYS)')
    .option('--dry-run', 'show what would be dropped, change nothing')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail purge --older-than 365 --dry-run
  $ crm-mail --json purge --older-than 730
  $ crm-mail --env-file /etc/crm-mail/crm-mail.env purge     # nightly, with CRM_GMAIL_RETENTION_DAYS set

Kept: headers, participants, investor links, subjects, threads, proposals and the notes already in
the CRM. Dropped: the body text, snippet, attachment rows and the attachment files no newer stored
message uses. Safe to run every night; waits up to 10 minutes for a running sync to finish.`,
    )
    .action(async (options: { olderThan?: string; dryRun?: boolean }) => {
      const days = parseDays(options.olderThan, ctx.config.retentionDays);
      const db = ctx.db();
      const dryRun = Boolean(options.dryRun);
      const { withSyncLease } = await import('../../sync/runSync.js');
      const { purgeOlderThan } = await import('../../privacy/retention.js');
      const { AttachmentStore } = await import('../../attachments.js');
      const store = new AttachmentStore(ctx.config.attachmentsDir);
      const leased = await withSyncLease(db, { waitMs: LEASE_WAIT_MS }, async () => purgeOlderThan(db, days, { store, dryRun, afterCommit: crashHook(ctx.env) }));
      if (!leased.ran) {
        ctx.exitCode = EXIT.failure;
        if (ctx.out.json) return ctx.out.data({ ran: false, reason: 'lease_held', holder: leased.holder });
        return ctx.out.line(leaseHeldLine(leased.holder, 'purge waited 10 minutes and'));
      }
      const result = leased.value;
      if (ctx.out.json) return ctx.out.data({ dryRun, ...result });
      ctx.out.line(`purge: mail received before ${result.before.slice(0, 10)} (older than ${days} days): ${purgeLine(result.purged, 'strip', dryRun)}`);
    });
}
