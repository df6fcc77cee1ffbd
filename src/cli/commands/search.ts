/**
 * `crm-mail search "<query>"`: full-text search over the captured mail (subjects, bodies, names and
 * addresses). Snippets are made inert first; only then does this module add its own bold (on a
 * terminal) or «» marks around the matched terms, so no email text can reach the terminal as a
 * control sequence.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { investorIdsFor } from '../investorTerm.js';
import { inertLine } from '../output.js';
import { UsageError } from '../../errors.js';
import { HIT_END, HIT_START, type SearchHit } from '../../db/search.js';
import { parseLimit, parseSince } from './threads.js';

const EXAMPLES = `
Examples:
  $ crm-mail search "management fee"
  $ crm-mail search '"side letter" OR MFN' --investor "Harborview" --since 2026-01-01
  $ crm-mail search capital call --partner jane@firm.com --until 2026-06-30 --json
  $ crm-mail search ann.lee@harborview-pension.com --limit 50

Words must all match (any order, "fee" also finds "fees"); "quoted words" match as a phrase; OR
between two terms matches either; a trailing * matches a prefix (capit*). Newest first, one row per
message however many mailboxes hold it. Newsletters and other bulk mail are left out unless
--include-bulk.
--json prints one object: {query, total, limit, truncated, results:[...]}; truncated is true when
more than --limit messages match.`;

interface SearchOptions {
  investor?: string;
  partner?: string;
  since?: string;
  until?: string;
  limit: string;
  includeBulk?: boolean;
}

export function registerSearch(program: Command, ctx: CliContext): void {
  program
    .command('search')
    .description('full-text search of the captured mail: subjects, text, names and addresses; newest first')
    .argument('<query...>', 'words, "quoted phrases", OR, prefix*')
    .option('--investor <name|id>', 'only mail matched to this investor (id, exact name, or part of the name)')
    .option('--partner <email>', "only mail in this partner's mailbox")
    .option('--since <date>', 'only mail from DATE on (YYYY-MM-DD, ISO time, or Nd for N days ago)')
    .option('--until <date>', 'only mail up to DATE (a YYYY-MM-DD day is included whole)')
    .option('--limit <n>', 'show at most N messages', '20')
    .option('--include-bulk', 'include newsletters and other bulk mail')
    .addHelpText('after', EXAMPLES)
    .action(async (words: string[], options: SearchOptions) => {
      const { searchMail, toMatchQuery } = await import('../../db/search.js');
      const query = words.join(' ');
      toMatchQuery(query); // a query with no word is a usage error before the database is opened
      const limit = parseLimit(options.limit);
      const sinceMs = options.since === undefined ? undefined : parseSince(options.since);
      const untilMs = options.until === undefined ? undefined : parseUntil(options.until);
      const db = ctx.db();
      let investorIds: number[] | undefined;
      if (options.investor !== undefined) {
        investorIds = investorIdsFor(db, options.investor, ctx.out);
      }
      const filter = { query, investorIds, partnerEmail: options.partner, sinceMs, untilMs, includeBulk: Boolean(options.includeBulk), limit };
      const { hits, total } = searchMail(db, filter);
      if (ctx.out.json) return ctx.out.data({ query, total, limit, truncated: total > hits.length, results: hits.map(hitJson) });
      if (hits.length === 0) return ctx.out.line(`No captured mail matches ${inertLine(query)}${investorIds || options.partner || sinceMs || untilMs ? ' with those filters' : ''}.`);
      for (const hit of hits) renderHit(ctx, hit);
      ctx.out.line(total > hits.length ? `${hits.length} of ${total} messages (use --limit to see more)` : `${total} message${total === 1 ? '' : 's'}`);
      ctx.out.line('Open a conversation with: crm-mail thread <id>');
    });
}

/** Like --since, but a bare day means up to the end of that day. */
export function parseUntil(text: string): number {
  let start: number;
  try {
    start = parseSince(text);
  } catch {
    throw new UsageError(`--until must be YYYY-MM-DD, an ISO date-time or Nd (days ago), got "${inertLine(text)}".`);
  }
  if (!/^\s*\d{4}-\d{2}-\d{2}\s*$/.test(text)) return start;
  // The next local midnight (not +24 h, which a daylight-saving change would make wrong).
  const end = new Date(start);
  end.setDate(end.getDate() + 1);
  return end.getTime();
}

/** Inert text with the matched terms marked: bold on a terminal, «» elsewhere. */
export function markHits(snippet: string, bold: boolean): string {
  const safe = inertLine(snippet).replace(/\s+/g, ' ').trim();
  const open = bold ? '\u001b[1m' : '«';
  const close = bold ? '\u001b[22m' : '»';
  const marked = safe.split(HIT_START).join(open).split(HIT_END).join(close);
  return bold ? marked + '\u001b[22m' : marked;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function names(list: Array<{ name: string | null; address?: string }>): string {
  return list.map((item) => inertLine(item.name).trim() || inertLine(item.address)).join(', ');
}

function renderHit(ctx: CliContext, hit: SearchHit): void {
  const investors = names(hit.investors) || '(no investor)';
  const partners = names(hit.partners);
  const thread = hit.threadId === null ? '' : `  thread ${hit.threadId}`;
  ctx.out.line(`${day(hit.dateMs)}  ${investors}  ·  ${partners}${hit.isBulk ? '  (bulk)' : ''}${thread}`);
  ctx.out.line(`  ${inertLine(hit.subject).trim() || '(no subject)'}`);
  ctx.out.line(`  ${markHits(hit.snippet, ctx.out.isTTY)}`);
  ctx.out.line();
}

function hitJson(hit: SearchHit): Record<string, unknown> {
  return {
    date: new Date(hit.dateMs).toISOString(),
    messageKey: inertLine(hit.messageKey),
    emailId: hit.emailId,
    threadId: hit.threadId,
    subject: hit.subject === null ? null : inertLine(hit.subject),
    from: hit.fromAddress === null ? null : { address: inertLine(hit.fromAddress), name: hit.fromName === null ? null : inertLine(hit.fromName) },
    direction: hit.direction,
    bulk: hit.isBulk,
    investors: hit.investors.map((investor) => ({ id: investor.id, name: inertLine(investor.name) })),
    partners: hit.partners.map((partner) => ({ address: inertLine(partner.address), name: partner.name === null ? null : inertLine(partner.name) })),
    snippet: markHits(hit.snippet, false),
  };
}
