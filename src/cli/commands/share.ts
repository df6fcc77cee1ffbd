import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT, NotFoundError } from '../../errors.js';
import { getAccountByEmail } from '../../db/accounts.js';
import { parseShareLevel } from '../../privacy/sharing.js';
import { actorName } from '../actor.js';
import { crashHook, purgeLine } from '../purgeOutput.js';
import { leaseHeldLine } from './sync.js';

const LEASE_WAIT_MS = 10 * 60 * 1000;

/** `accounts share`: the mailbox owner's choice of how much of their mail the CRM keeps. */
export function registerAccountShare(accounts: Command, ctx: CliContext): void {
  accounts
    .command('share <email> <level>')
    .description("set how much of a mailbox's mail is stored: metadata, subject or full (the default)")
    .option('--dry-run', 'show what a lower level would remove, change nothing')
    .addHelpText(
      'after',
      `
Levels:
  metadata  headers and participants only: no subject, no body, no attachments
  subject   metadata and the subject
  full      everything (the default)

Lowering the level removes what the new level does not allow from this mailbox's stored copies
(attachment files no other stored message uses are deleted); a copy in another mailbox keeps what
that mailbox allows. Raising it applies to mail captured from then on. The choice is recorded with
who set it (CRM_MAIL_USER, else the OS user) and when.

Examples:
  $ crm-mail accounts share jane@northwind.vc metadata --dry-run
  $ crm-mail accounts share jane@northwind.vc subject
  $ crm-mail --json accounts share jane@northwind.vc full`,
    )
    .action(async (email: string, levelText: string, options: { dryRun?: boolean }) => {
      const level = parseShareLevel(levelText);
      const db = ctx.db();
      const account = getAccountByEmail(db, email);
      if (!account) throw new NotFoundError(`${email} is not enrolled (see crm-mail accounts).`);
      const setBy = actorName(ctx.config, ctx.env);
      const dryRun = Boolean(options.dryRun);
      const { withSyncLease } = await import('../../sync/runSync.js');
      const { changeShareLevel } = await import('../../privacy/sharing.js');
      const { AttachmentStore } = await import('../../attachments.js');
      const store = new AttachmentStore(ctx.config.attachmentsDir);
      const leased = await withSyncLease(db, { waitMs: LEASE_WAIT_MS }, async () =>
        changeShareLevel(db, account.id, level, setBy, { store, dryRun, afterCommit: crashHook(ctx.env) }),
      );
      if (!leased.ran) {
        ctx.exitCode = EXIT.failure;
        if (ctx.out.json) return ctx.out.data({ ran: false, reason: 'lease_held', holder: leased.holder });
        return ctx.out.line(leaseHeldLine(leased.holder, 'accounts share waited 10 minutes and'));
      }
      const change = leased.value;
      if (ctx.out.json) return ctx.out.data({ dryRun, email: account.email, from: change.from, level: change.to, setBy, purged: change.purged });
      const verb = dryRun ? 'would share' : 'shares';
      ctx.out.line(`${account.email} ${verb} ${level}${change.from === level ? ' (unchanged)' : ` (was ${change.from})`}, set by ${setBy}`);
      if (change.lowered || change.purged.copies > 0) ctx.out.line(purgeLine(change.purged, 'strip', dryRun));
      else if (change.from !== level) ctx.out.line('mail captured from now on is stored at this level; copies already stored stay as they are');
    });
}
