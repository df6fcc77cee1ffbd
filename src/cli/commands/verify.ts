import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { requireGmailSettings } from '../../config.js';
import { CrmMailError, EXIT, NotFoundError, exitCodeOfKind, mostSevereExit } from '../../errors.js';
import { getAccountByEmail, listAccounts, type Account } from '../../db/accounts.js';
import { inertLine } from '../output.js';
import { leaseHeldLine } from './sync.js';
import type { VerifyReport } from '../../sync/verify.js';

const LEASE_WAIT_MS = 10 * 60 * 1000;

function summary(report: VerifyReport): string {
  if (report.error) return `${report.account}: could not verify: ${inertLine(report.error)}`;
  const verdict = report.ok ? 'complete' : 'DIFFERENCES';
  return (
    `${report.account}: ${verdict}: Gmail lists ${report.listed} investor messages, ${report.stored} stored; ` +
    `missing ${report.missing.count}, extra ${report.extra.count}, mismatched investors ${report.mismatched.count}, could not read ${report.unparsed.count} ` +
    `(${report.apiCalls} calls, ${report.apiUnits} units)` +
    (report.backfillComplete ? '' : '; its backfill is not finished yet, so missing mail is expected until it is')
  );
}

function details(report: VerifyReport): string[] {
  const lines: string[] = [];
  if (report.fixed) {
    lines.push(`  fixed: stored ${report.fixed.stored} missing, marked ${report.fixed.markedDeleted} deleted, relinked ${report.fixed.relinked}`);
  }
  for (const example of report.missing.examples) {
    lines.push(`  missing ${example.gmailId}: ${example.reason}${example.subject ? ` -- "${inertLine(example.subject).slice(0, 80)}"` : ''}${example.from ? ` from ${inertLine(example.from).slice(0, 60)}` : ''}`);
  }
  if (report.unsearchable && report.unsearchable.length > 0) {
    lines.push(`  unsearchable: ${report.unsearchable.map(inertLine).join(', ')} (Gmail refuses to search these even alone, so their mail is not proved complete)`);
  }
  for (const example of report.extra.examples) lines.push(`  extra   ${example.gmailId}: ${example.reason}`);
  for (const example of report.unparsed.examples) {
    lines.push(`  unread  ${example.gmailId}: ${inertLine(example.reason)}${example.subject ? ` -- "${inertLine(example.subject).slice(0, 80)}"` : ''}`);
  }
  for (const example of report.mismatched.examples) {
    const show = (list: typeof example.before) => (list.length === 0 ? 'none' : list.map((match) => `#${match.investorId} ${match.strategy} ${match.address}`).join(', '));
    lines.push(`  mismatch ${example.gmailId}: stored ${show(example.before)}; index says ${show(example.after)}`);
  }
  return lines;
}

export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description('prove completeness: compare the investor mail Gmail holds with what is stored (exit 1 on any difference)')
    .option('--account <email>', 'only this mailbox')
    .option('--examples <n>', 'examples shown per kind of difference', '10')
    .option('--fix', 'repair what it finds: fetch and store missing mail, mark mail deleted in Gmail, rematch mismatches')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail verify
  $ crm-mail verify --account jane@northwind.vc --json
  $ crm-mail verify --fix            # and repair what it finds (still exits 1 when it found something)

For each account: missing (in Gmail, matching an investor, not stored), extra (stored, gone from
Gmail or no longer found by the searches) and mismatched investors (stored links that differ from the
current index; fix with crm-mail rematch), and could not read (found by the searches, but its headers
were over the parser's bounds and what was read matches no investor). Costs one search pass plus a metadata read per unstored hit.
Waits up to 10 minutes for a running sync to finish, so it never compares against a half-done page.
Exit codes: 0 complete; otherwise the most severe account outcome: 4 auth or key file, 2
configuration, 1 a difference or another failure, 5 Gmail unavailable; 3 integration off.`,
    )
    .action(async (options: { account?: string; examples: string; fix?: boolean }) => {
      ctx.requireGmail('verify');
      requireGmailSettings(ctx.config);
      const db = ctx.db();
      const out = ctx.out;
      let accounts: Account[];
      if (options.account) {
        const account = getAccountByEmail(db, options.account);
        if (!account) throw new NotFoundError(`${options.account} is not enrolled.`);
        accounts = [account];
      } else {
        accounts = listAccounts(db).filter((account) => account.status !== 'paused');
      }
      const { buildInvestorIndex, asMatchIndex, mailStore, ClientFactory } = await import('../../sync/wiring.js');
      const { verifyAccount } = await import('../../sync/verify.js');
      const { withSyncLease } = await import('../../sync/runSync.js');
      const examples = Math.max(0, Number.parseInt(options.examples, 10) || 0);
      const leased = await withSyncLease(db, { waitMs: LEASE_WAIT_MS }, async () => {
        const index = asMatchIndex(buildInvestorIndex(db, ctx.config));
        const clients = new ClientFactory(db, ctx.config);
        const reports: VerifyReport[] = [];
        for (const account of accounts) {
          try {
            reports.push(
              await verifyAccount({ db, account, client: clients.open(account), store: mailStore(db, ctx.config), index, capture: ctx.config.capture, pageSize: ctx.config.backfillPageSize, examples, fix: options.fix }),
            );
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            reports.push({ account: account.email, ok: false, listed: 0, stored: 0, missing: { count: 0, examples: [] }, extra: { count: 0, examples: [] }, mismatched: { count: 0, examples: [] }, unparsed: { count: 0, examples: [] }, apiCalls: 0, apiUnits: 0, backfillComplete: account.backfillCompletedAt !== null, error: message, errorKind: error instanceof CrmMailError ? error.kind : 'unexpected' });
          }
        }
        return reports;
      });
      if (!leased.ran) {
        ctx.exitCode = EXIT.failure;
        if (out.json) out.data({ ran: false, reason: 'lease_held', holder: leased.holder });
        else out.line(leaseHeldLine(leased.holder, 'verify waited 10 minutes and'));
        return;
      }
      const reports = leased.value;
      const ok = reports.every((report) => report.ok);
      ctx.exitCode = mostSevereExit(reports.map((report) => (report.ok ? EXIT.ok : report.error ? exitCodeOfKind(report.errorKind) : EXIT.failure)));
      if (out.json) return out.data({ ok, accounts: reports });
      for (const report of reports) {
        // --quiet means errors only: an account that could not be verified or differs still speaks.
        if (out.quiet && !report.ok) out.error(summary(report));
        out.line(summary(report));
        for (const line of details(report)) out.line(line);
      }
      if (reports.length === 0) out.line('no accounts to verify');
    });
}
