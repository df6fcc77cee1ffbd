import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { renderTable, tableWidth, type TableColumn } from '../tableFit.js';
import { inertLine } from '../output.js';
import { UsageError } from '../../errors.js';
import { investorIdsFor } from '../investorTerm.js';
import { exportMessages, type ExportedMessage } from '../../db/messageExport.js';

function parseSince(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms)) throw new UsageError(`--since must be a date such as 2026-10-01 or 2026-10-01T09:00:00Z (got ${JSON.stringify(text)}).`);
  return ms;
}

/** The investors --investor names, as `threads --investor` takes them. */
function resolveInvestors(ctx: CliContext, term: string | undefined): number[] | undefined {
  return term === undefined ? undefined : investorIdsFor(ctx.db(), term, ctx.out);
}

function investorsCell(message: ExportedMessage): string {
  return message.investors.map((match) => `${match.investorName ?? '#' + match.investorId} (${match.strategy} ${match.address})`).join('\n');
}

const MESSAGE_COLUMNS: TableColumn[] = [
  { head: 'date', priority: 0 },
  { head: 'account', priority: 1, minWidth: 12, wrap: true },
  { head: 'dir', priority: 3 },
  { head: 'from', priority: 1, minWidth: 14, wrap: true },
  { head: 'subject', priority: 0, minWidth: 16, wrap: true },
  { head: 'investors', priority: 2, minWidth: 14, wrap: true },
];

export function registerMessages(program: Command, ctx: CliContext): void {
  program
    .command('messages')
    .description('list the stored mail, one row per mailbox copy, with the investors it matched')
    .option('--investor <name|id>', 'only mail matched to this investor (id, exact name, or part of the name)')
    .option('--account <email>', 'only this mailbox')
    .option('--since <date>', 'only mail Gmail received on or after this date (UTC)')
    .option('--include-deleted', 'also copies deleted in Gmail since they were stored')
    .option('--limit <n>', 'at most this many rows (newest first)')
    .option('--wide', 'show every column, however wide (by default the table fits the terminal, 80 columns when unknown)')
    .addHelpText(
      'after',
      `
Examples:
  $ crm-mail messages --investor 12
  $ crm-mail messages --investor "Harborview Pension"
  $ crm-mail messages --account jane@northwind.vc --since 2026-10-01
  $ crm-mail --json messages > investor-mail.json     # the export: one JSON array

The --json array has, per copy: account, gmailId, messageId, messageKey, gmailThreadId, threadId,
date, internalDateMs, direction, subject, from, to, cc, labels, deleted, and investors
[{investorId, investorName, strategy, address}].`,
    )
    .action((options: { investor?: string; account?: string; since?: string; includeDeleted?: boolean; limit?: string; wide?: boolean }) => {
      const limit = options.limit === undefined ? undefined : Number(options.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new UsageError(`--limit must be a whole number, got ${JSON.stringify(options.limit)}.`);
      const rows = [
        ...exportMessages(ctx.db(), {
          investorIds: resolveInvestors(ctx, options.investor),
          accountEmail: options.account,
          sinceMs: parseSince(options.since),
          includeDeleted: Boolean(options.includeDeleted),
          limit,
        }),
      ];
      if (ctx.out.json) return ctx.out.data(rows);
      if (rows.length === 0) return ctx.out.line('no stored mail matches');
      const cells = rows.map((row) => [
        row.date.slice(0, 16).replace('T', ' '),
        row.account,
        row.direction ?? '',
        inertLine(row.from?.address ?? ''),
        inertLine(row.subject ?? '') + (row.deleted ? ' [deleted]' : ''),
        inertLine(investorsCell(row)).replace(/\) /g, ')\n'),
      ]);
      ctx.out.write(renderTable(MESSAGE_COLUMNS, cells, { maxWidth: tableWidth({ wide: options.wide, isTTY: ctx.out.isTTY, env: ctx.env }), color: ctx.out.isTTY }));
      ctx.out.line(`${rows.length} copies (--json for every field)`);
    });
}
