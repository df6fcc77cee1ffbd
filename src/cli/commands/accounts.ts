import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { renderTable, tableWidth, type TableColumn } from '../tableFit.js';
import { accountFootprint, getAccountByEmail, listAccounts, removeAccount, setAccountStatus, type Account } from '../../db/accounts.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { parseCheckpoint } from '../../sync/checkpoint.js';
import { registerAccountShare } from './share.js';

function backfillState(account: Account): string {
  if (account.backfillCompletedAt) return `done ${account.backfillCompletedAt.slice(0, 10)}`;
  const checkpoint = parseCheckpoint(account.backfillCheckpoint);
  if (checkpoint) return `${checkpoint.kind} in progress (search ${checkpoint.queryIndex + 1}/${checkpoint.queries.length})`;
  return 'not started';
}

function accountJson(account: Account): Record<string, unknown> {
  return {
    email: account.email,
    status: account.status,
    authMethod: account.authMethod,
    enrolledAt: account.createdAt,
    backfill: backfillState(account),
    lastSuccessAt: account.lastSuccessAt,
    lastError: account.lastError,
    sharing: account.shareLevel,
  };
}

function findAccount(ctx: CliContext, email: string): Account {
  ctx.noteIfGmailOff();
  const account = getAccountByEmail(ctx.db(), email);
  if (!account) throw new NotFoundError(`${email} is not enrolled (see crm-mail accounts).`);
  return account;
}

const ACCOUNT_COLUMNS: TableColumn[] = [
  { head: 'account', priority: 0, minWidth: 20, wrap: true },
  { head: 'status', priority: 0 },
  { head: 'auth', priority: 3 },
  { head: 'sharing', priority: 2 },
  { head: 'enrolled', priority: 4 },
  { head: 'backfill', priority: 1, minWidth: 10, wrap: true },
  { head: 'last success', priority: 1, minWidth: 10, wrap: true },
];

export function registerAccounts(program: Command, ctx: CliContext): void {
  const accounts = program
    .command('accounts')
    .description("list enrolled mailboxes; pause, resume or remove one; set how much of its mail is shared")
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail accounts
  $ crm-mail accounts pause jane@northwind.vc
  $ crm-mail accounts resume jane@northwind.vc
  $ crm-mail accounts remove jane@northwind.vc --yes
  $ crm-mail accounts share jane@northwind.vc subject`,
    )
    .option('--wide', 'show every column, however wide (by default the table fits the terminal, 80 columns when unknown)')
    .action((options: { wide?: boolean }) => {
      ctx.noteIfGmailOff();
      const rows = listAccounts(ctx.db());
      if (ctx.out.json) return ctx.out.data(rows.map(accountJson));
      if (rows.length === 0) return ctx.out.line('no accounts enrolled: run crm-mail enroll-all (or crm-mail enroll EMAIL)');
      const cells = rows.map((account) => [
        account.email,
        account.status,
        account.authMethod,
        account.shareLevel,
        account.createdAt.slice(0, 10),
        backfillState(account),
        account.lastSuccessAt ? account.lastSuccessAt.slice(0, 16).replace('T', ' ') : '-',
      ]);
      ctx.out.write(renderTable(ACCOUNT_COLUMNS, cells, { maxWidth: tableWidth({ wide: options.wide, isTTY: ctx.out.isTTY, env: ctx.env }), color: ctx.out.isTTY }));
    });

  const setStatus = (email: string, status: 'active' | 'paused', verb: string): void => {
    const account = findAccount(ctx, email);
    if (account.status === 'needs_consent' && status === 'active') {
      throw new UsageError(`${account.email} needs OAuth consent, not a resume: run crm-mail auth oauth ${account.email}.`);
    }
    const changed = account.status !== status;
    if (changed) setAccountStatus(ctx.db(), account.id, status);
    if (ctx.out.json) return ctx.out.data({ email: account.email, status, changed });
    ctx.out.line(changed ? `${account.email}: ${verb}` : `${account.email}: already ${status}`);
  };

  accounts
    .command('pause <email>')
    .description('stop syncing this mailbox (its stored mail stays)')
    .addHelpText('after', '\nExample:\n  $ crm-mail accounts pause jane@northwind.vc')
    .action((email: string) => setStatus(email, 'paused', 'paused; sync skips it until resumed'));

  accounts
    .command('resume <email>')
    .description('sync this mailbox again from where it stopped')
    .addHelpText('after', '\nExample:\n  $ crm-mail accounts resume jane@northwind.vc')
    .action((email: string) => setStatus(email, 'active', 'resumed; the next sync continues from its cursor'));

  accounts
    .command('remove <email>')
    .description('unenroll a mailbox and delete the mail captured from it (needs --yes)')
    .option('--yes', 'confirm; without it, only says what would be deleted')
    .addHelpText('after', '\nExamples:\n  $ crm-mail accounts remove jane@northwind.vc         # what would be deleted\n  $ crm-mail accounts remove jane@northwind.vc --yes')
    .action((email: string, options: { yes?: boolean }) => {
      const account = findAccount(ctx, email);
      const footprint = accountFootprint(ctx.db(), account.id);
      const what = `${footprint.emails} stored messages, ${footprint.attachments} attachment references and ${footprint.runs} sync runs`;
      if (!options.yes) {
        if (ctx.out.json) ctx.out.data({ email: account.email, removed: false, wouldDelete: footprint });
        else ctx.out.line(`would remove ${account.email} with ${what}; approved notes already in the CRM stay.`);
        throw new UsageError('accounts remove needs --yes to delete anything.');
      }
      removeAccount(ctx.db(), account.id);
      if (ctx.out.json) return ctx.out.data({ email: account.email, removed: true, deleted: footprint });
      ctx.out.line(`removed ${account.email} with ${what}`);
    });

  registerAccountShare(accounts, ctx);
}
