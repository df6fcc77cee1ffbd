import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { requireGmailSettings } from '../../config.js';
import { EXIT, NotFoundError, UsageError } from '../../errors.js';
import { listAccounts, getAccountByEmail, type Account } from '../../db/accounts.js';
import { leaseHeldLine } from './sync.js';

const LEASE_WAIT_MS = 10 * 60 * 1000;

function parseInvestor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--investor must be an investor id (a whole number), got ${JSON.stringify(text)}.`);
  return Number(text);
}

export function registerRematch(program: Command, ctx: CliContext): void {
  program
    .command('rematch')
    .description('match stored mail again after investors or exclusions changed; --remote also searches Gmail for new investors')
    .option('--investor <id>', 'only links to this investor change')
    .option('--remote', 'also search each mailbox for addresses and domains new to the index, and fetch that mail')
    .option('--account <email>', 'with --remote: only this mailbox')
    .option('--dry-run', 'report what would change, change nothing (local matching only)')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail rematch                      # after editing investors' addresses in the CRM
  $ crm-mail rematch --investor 42 --remote   # a new investor: link stored mail, fetch older mail from Gmail
  $ crm-mail rematch --dry-run --json

Waits up to 10 minutes for a running sync to finish (one writer at a time), then gives up with exit 1.`,
    )
    .action(async (options: { investor?: string; remote?: boolean; account?: string; dryRun?: boolean }) => {
      const investorId = parseInvestor(options.investor);
      if (options.remote && options.dryRun) throw new UsageError('--dry-run applies to local matching only; run without --remote to preview.');
      if (options.remote) {
        ctx.requireGmail('rematch --remote');
        requireGmailSettings(ctx.config);
      }
      const db = ctx.db();
      const out = ctx.out;
      const { buildInvestorIndex, asMatchIndex, mailStore, ClientFactory } = await import('../../sync/wiring.js');
      const { rematchStored, remoteRematchAccount, newTermsFor } = await import('../../sync/rematch.js');
      const { withSyncLease } = await import('../../sync/runSync.js');
      const { InvestorIndex } = await import('../../match/investorIndex.js');
      const { listInvestors, listExclusions } = await import('../../db/crm.js');
      const { resultLine } = await import('../../sync/report.js');
      if (investorId !== undefined && !listInvestors(db).some((investor) => investor.id === investorId)) {
        throw new NotFoundError(`no investor with id ${investorId} in the CRM.`);
      }
      let accounts: Account[] = [];
      if (options.remote) {
        if (options.account) {
          const account = getAccountByEmail(db, options.account);
          if (!account) throw new NotFoundError(`${options.account} is not enrolled.`);
          accounts = [account];
        } else {
          accounts = listAccounts(db, { status: 'active' });
        }
      }

      const leased = await withSyncLease(db, { waitMs: LEASE_WAIT_MS }, async () => {
        const fullIndex = buildInvestorIndex(db, ctx.config);
        const index = asMatchIndex(fullIndex);
        const local = rematchStored(db, index, { investorId, dryRun: options.dryRun });
        const remote: Array<Record<string, unknown>> = [];
        if (options.remote) {
          // With --investor, search only that investor's terms (as the full index sees them).
          let onlyTerms: Set<string> | undefined;
          if (investorId !== undefined) {
            const own = InvestorIndex.build(
              listInvestors(db).filter((investor) => investor.id === investorId),
              { workspaceDomain: ctx.config.workspaceDomain ?? '', exclusions: [...ctx.config.excludedAddresses, ...listExclusions(db)], personalDomains: ctx.config.personalDomains },
            ).terms();
            onlyTerms = new Set(own.filter((term) => fullIndex.terms().includes(term)));
          }
          const scoped = onlyTerms ? { ...index, terms: () => index.terms().filter((term) => onlyTerms!.has(term)) } : index;
          const clients = new ClientFactory(db, ctx.config);
          for (const account of accounts) {
            if (!account.backfillCompletedAt) {
              remote.push({ account: account.email, status: 'skipped', reason: 'backfill not finished; the next sync covers every investor' });
              continue;
            }
            if (newTermsFor(account, scoped).length === 0) {
              remote.push({ account: account.email, status: 'ok', terms: 0, stored: 0, line: `${account.email}: no new addresses or domains to search` });
              continue;
            }
            const result = await remoteRematchAccount({
              db,
              account,
              client: clients.open(account),
              store: mailStore(db, ctx.config),
              index: scoped,
              capture: ctx.config.capture,
              pageSize: ctx.config.backfillPageSize,
            });
            remote.push({ account: result.account, status: result.status, terms: result.terms, ...result.counts, error: result.error ?? null, line: resultLine(result) });
          }
        }
        return { local, remote };
      });
      if (!leased.ran) {
        ctx.exitCode = EXIT.failure;
        if (out.json) out.data({ ran: false, reason: 'lease_held', holder: leased.holder });
        else out.line(leaseHeldLine(leased.holder, 'rematch waited 10 minutes and'));
        return;
      }
      const { local, remote } = leased.value;
      const failed = remote.some((item) => item.status !== 'ok' && item.status !== 'skipped');
      if (failed) ctx.exitCode = EXIT.failure;
      if (out.json) {
        return out.data({
          dryRun: Boolean(options.dryRun),
          investorId: investorId ?? null,
          examined: local.examined,
          changed: local.changed,
          linksAdded: local.added,
          linksRemoved: local.removed,
          examples: local.differences,
          remote,
        });
      }
      const verb = options.dryRun ? 'would change' : 'changed';
      out.line(
        `rematch${investorId !== undefined ? ` (investor ${investorId})` : ''}: examined ${local.examined} stored copies; ${verb} ${local.changed}: ` +
          `${local.added} investor links added, ${local.removed} removed`,
      );
      for (const item of remote) out.line(typeof item.line === 'string' ? item.line : `${String(item.account)}: ${String(item.status)} (${String(item.reason ?? '')})`);
    });
}
