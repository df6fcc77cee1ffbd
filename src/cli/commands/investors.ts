/**
 * `crm-mail investors`: who at the firm last spoke with each investor, and which relationships are
 * going cold. The figures are the `email_investor_activity` view's (migration 0008), read as they
 * are. A table on a terminal; one plain line per investor in a pipe or under cron (the weekly
 * digest in crontab.example); --json for scripts.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { investorIdsFor } from '../investorTerm.js';
import { inertLine } from '../output.js';
import { NotFoundError, UsageError } from '../../errors.js';
import type { InvestorActivityRow } from '../../db/investorActivity.js';
import { cut } from './threads.js';
import { renderTable, tableWidth, type TableColumn } from '../tableFit.js';

const INVESTORS_EXAMPLES = `
Examples:
  $ crm-mail investors                          # every investor with captured mail, stalest first
  $ crm-mail investors --stale 60               # no two-way exchange in 60 days (the weekly digest)
  $ crm-mail investors --partner jane@firm.com  # the investors Jane has mail with
  $ crm-mail investors --json
  $ crm-mail investors --wide                   # every column of the table, however wide the terminal

A touch is investor mail that is neither bulk (newsletters) nor internal-only. A thread is a two-way
exchange once it holds mail both from the investor and from the firm; its date is the earlier of
the two last messages. Strongest partner: most two-way threads written in over the last 12 months
(ties: who wrote last). The CRM's web app reads the same figures from the view
email_investor_activity.`;

export function registerInvestors(program: Command, ctx: CliContext): void {
  const investors = program
    .command('investors')
    .description('relationship figures per investor from the captured mail: last touch each way, two-way exchange, strongest partner; stalest first')
    .option('--stale <days>', 'only investors without a two-way exchange in at least DAYS days (or never)')
    .option('--partner <email>', "only investors this partner has mail with (the figures stay the firm's)")
    .option('--wide', 'show every column, however wide (by default the table fits the terminal, 80 columns when unknown)')
    .addHelpText('after', INVESTORS_EXAMPLES)
    .action(async (options: { stale?: string; partner?: string; wide?: boolean }) => {
      const { listInvestorActivity, isFirmPerson } = await import('../../db/investorActivity.js');
      const staleDays = options.stale === undefined ? undefined : parseDays(options.stale, '--stale');
      const db = ctx.db();
      if (options.partner !== undefined && !isFirmPerson(db, options.partner)) {
        throw new NotFoundError(`--partner ${inertLine(options.partner)} is neither a CRM user nor an enrolled mailbox (see crm-mail accounts).`);
      }
      const rows = listInvestorActivity(db, { staleDays, partnerEmail: options.partner });
      if (ctx.out.json) return ctx.out.data(rows.map(activityJson));
      if (rows.length === 0) {
        ctx.out.line(staleDays !== undefined || options.partner !== undefined ? 'No investor matches that filter.' : 'No investor has captured mail yet: run `crm-mail sync` first.');
        return;
      }
      if (ctx.out.isTTY) ctx.out.write(renderActivityTable(rows, tableWidth({ wide: options.wide, isTTY: true, env: ctx.env })));
      else for (const row of rows) ctx.out.line(plainLine(row));
      const what = staleDays === undefined ? 'with captured mail' : `without a two-way exchange in ${staleDays} days`;
      ctx.out.line(`${rows.length} investor${rows.length === 1 ? '' : 's'} ${what}; one investor's timeline: crm-mail investor <id|name>`);
    });
  registerSuggestions(investors, ctx);
}

const SUGGESTIONS_EXAMPLES = `
Examples:
  $ crm-mail investors suggestions
  $ crm-mail investors suggestions --investor "Harborview"
  $ crm-mail investors suggestions --json

People on an investor's own domain (the domain its mail matched by) who write or are written to
in its captured mail but are not in the investor's CRM cell. Read-only: the cell belongs to the
CRM, so add the address there yourself.`;

function registerSuggestions(investors: Command, ctx: CliContext): void {
  investors
    .command('suggestions')
    .description("people in an investor's mail, on its domain, missing from its CRM cell (read-only)")
    .option('--investor <name|id>', 'only this investor (id, exact name, or part of the name)')
    .addHelpText('after', SUGGESTIONS_EXAMPLES)
    .action(async (options: { investor?: string }) => {
      const { participantSightings, domainMatchedAddresses, investorCells } = await import('../../db/contactSuggestions.js');
      const { suggestContacts, matchedDomains } = await import('../../match/contactSuggestions.js');
      const db = ctx.db();
      let investorIds: number[] | undefined;
      if (options.investor !== undefined) {
        investorIds = investorIdsFor(db, options.investor, ctx.out);
      }
      const domains = matchedDomains(domainMatchedAddresses(db));
      const suggestions = suggestContacts(investorCells(db), participantSightings(db, investorIds), (id) => domains.get(id) ?? new Set());
      if (ctx.out.json) {
        return ctx.out.data(
          suggestions.map((s) => ({
            investorId: s.investorId,
            investorName: inertLine(s.investorName),
            address: inertLine(s.address),
            name: s.name === null ? null : inertLine(s.name),
            messages: s.messages,
            lastDate: new Date(s.lastMs).toISOString(),
          })),
        );
      }
      if (suggestions.length === 0) return ctx.out.line('No one to suggest: everyone on an investor domain in the captured mail is in its CRM cell.');
      for (const s of suggestions) {
        const name = inertLine(s.name).trim();
        ctx.out.line(`#${s.investorId} ${inertLine(s.investorName)}: ${inertLine(s.address)}${name ? ` (${name})` : ''}, ${s.messages} message${s.messages === 1 ? '' : 's'}, last ${day(s.lastMs)}`);
      }
      ctx.out.line(`${suggestions.length} address${suggestions.length === 1 ? '' : 'es'} not in the CRM; add the ones you want to the investor's email cell in the CRM.`);
    });
}

export function parseDays(text: string, option: string): number {
  if (!/^\d{1,5}$/.test(text.trim())) throw new UsageError(`${option} must be a whole number of days, got "${inertLine(text)}".`);
  return Number(text.trim());
}

/** The UTC calendar day: the view's times are UTC, and a digest must read the same on any server. */
function day(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().slice(0, 10);
}

function who(name: string | null, address: string | null): string {
  const shown = inertLine(name).trim();
  return shown !== '' ? shown : inertLine(address);
}

function partnerCell(address: string | null, name: string | null, threads: number | null): string {
  return address === null ? '-' : `${who(name, address)} (${threads})`;
}

function twoWayCell(row: InvestorActivityRow): string {
  return row.days_since_two_way === null ? 'never' : `${row.days_since_two_way} d ago`;
}

/** Even with --wide a cell stops somewhere. */
const WIDE_CELL_MAX = 60;

const ACTIVITY_COLUMNS: TableColumn[] = [
  { head: 'ID', priority: 0, align: 'right' },
  { head: 'Investor', priority: 0, minWidth: 12 },
  { head: 'Last inbound', priority: 1, minWidth: 12 },
  { head: 'Last outbound', priority: 1, minWidth: 13 },
  { head: 'Two-way', priority: 0, align: 'right' },
  { head: 'Threads 90 d', priority: 3, align: 'right' },
  { head: 'Strongest', priority: 2, minWidth: 12 },
  { head: 'Runner-up', priority: 4, minWidth: 12 },
  { head: 'Pending', priority: 2, align: 'right' },
];

// No colours, as in threads: the table reads the same on any terminal.
function renderActivityTable(rows: InvestorActivityRow[], maxWidth: number | undefined): string {
  const cells = rows.map((row) => [
    row.investor_id,
    cut(inertLine(row.investor_name), WIDE_CELL_MAX),
    cut(row.last_inbound_ms === null ? '-' : `${day(row.last_inbound_ms)} ${who(row.last_inbound_from_name, row.last_inbound_from_address)}`, WIDE_CELL_MAX),
    cut(row.last_outbound_ms === null ? '-' : `${day(row.last_outbound_ms)} ${who(row.last_outbound_partner_name, row.last_outbound_partner_address)}`, WIDE_CELL_MAX),
    twoWayCell(row),
    row.threads_90d,
    cut(partnerCell(row.strongest_partner_address, row.strongest_partner_name, row.strongest_partner_threads), WIDE_CELL_MAX),
    cut(partnerCell(row.runner_up_partner_address, row.runner_up_partner_name, row.runner_up_partner_threads), WIDE_CELL_MAX),
    row.pending_proposals,
  ]);
  return renderTable(ACTIVITY_COLUMNS, cells, { maxWidth, color: false });
}

/** One line per investor, for a pipe, a log or a mail body. */
export function plainLine(row: InvestorActivityRow): string {
  const parts = [
    row.days_since_two_way === null ? 'no two-way exchange yet' : `two-way ${row.days_since_two_way} days ago (${day(row.last_two_way_ms)})`,
    row.last_inbound_ms === null ? 'nothing inbound' : `last in ${day(row.last_inbound_ms)} from ${who(row.last_inbound_from_name, row.last_inbound_from_address)}`,
    row.last_outbound_ms === null ? 'nothing outbound' : `last out ${day(row.last_outbound_ms)} by ${who(row.last_outbound_partner_name, row.last_outbound_partner_address)}`,
    `${row.threads_90d} thread${row.threads_90d === 1 ? '' : 's'} in 90 days`,
  ];
  if (row.strongest_partner_address !== null) {
    parts.push(`strongest ${partnerCell(row.strongest_partner_address, row.strongest_partner_name, row.strongest_partner_threads)}`);
  }
  if (row.runner_up_partner_address !== null) {
    parts.push(`runner-up ${partnerCell(row.runner_up_partner_address, row.runner_up_partner_name, row.runner_up_partner_threads)}`);
  }
  if (row.pending_proposals > 0) parts.push(`${row.pending_proposals} pending proposal${row.pending_proposals === 1 ? '' : 's'}`);
  return `#${row.investor_id} ${inertLine(row.investor_name)}: ${parts.join('; ')}`;
}

function partnerJson(address: string | null, name: string | null, threads: number | null): Record<string, unknown> | null {
  return address === null ? null : { address: inertLine(address), name: name === null ? null : inertLine(name), twoWayThreads12m: threads };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function activityJson(row: InvestorActivityRow): Record<string, unknown> {
  return {
    id: row.investor_id,
    name: inertLine(row.investor_name),
    lastInbound:
      row.last_inbound_ms === null
        ? null
        : { date: iso(row.last_inbound_ms), from: { address: inertLine(row.last_inbound_from_address), name: row.last_inbound_from_name === null ? null : inertLine(row.last_inbound_from_name) } },
    lastOutbound:
      row.last_outbound_ms === null
        ? null
        : {
            date: iso(row.last_outbound_ms),
            partner: { address: inertLine(row.last_outbound_partner_address), name: row.last_outbound_partner_name === null ? null : inertLine(row.last_outbound_partner_name) },
          },
    lastTwoWay: iso(row.last_two_way_ms),
    daysSinceTwoWay: row.days_since_two_way,
    threads90d: row.threads_90d,
    twoWayThreads12m: row.two_way_threads_12m,
    strongestPartner: partnerJson(row.strongest_partner_address, row.strongest_partner_name, row.strongest_partner_threads),
    runnerUpPartner: partnerJson(row.runner_up_partner_address, row.runner_up_partner_name, row.runner_up_partner_threads),
    pendingProposals: row.pending_proposals,
    lastTouch: iso(row.last_touch_ms),
  };
}
