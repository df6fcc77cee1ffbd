/**
 * `crm-mail threads` and `crm-mail thread <id>`: the captured conversations in the terminal.
 * Everything shown that came from an email goes through inert()/inertLine(), so no subject, name or
 * body can move the cursor, retitle the window or hide text.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { investorIdsFor } from '../investorTerm.js';
import { inert, inertLine } from '../output.js';
import { renderTable, tableWidth, type TableColumn } from '../tableFit.js';
import { NotFoundError, UsageError } from '../../errors.js';
import type { InvestorActivity, Person, ThreadAttachment, ThreadDetail, ThreadMessageCopy, ThreadSummary } from '../../db/threadsView.js';

const THREADS_EXAMPLES = `
Examples:
  $ crm-mail threads
  $ crm-mail threads --investor "Harborview Pension" --since 2026-10-01
  $ crm-mail threads --investor 12 --json
  $ crm-mail threads --since 30d --limit 100
  $ crm-mail threads --by-investor
  $ crm-mail threads --wide            # every column, however wide the terminal

The table fits the terminal (or $COLUMNS, else 80 columns): participants, then partners, then the
message count are hidden first, long text is cut with …, and a last line names what was hidden.

--json prints one object: {total, limit, truncated, threads:[...]}; truncated is true when more
than --limit conversations match (total says how many), so raise --limit to get them all.
threads --by-investor --json prints the whole list of investors (it has no limit).`;

const THREAD_EXAMPLES = `
Examples:
  $ crm-mail thread 42
  $ crm-mail thread 42 --full        # show quoted history instead of folding it
  $ crm-mail thread 42 --json`;

export function registerThreads(program: Command, ctx: CliContext): void {
  program
    .command('threads')
    .description('list captured conversations with investors, most recent first')
    .option('--investor <name|id>', 'only conversations with this investor (id, exact name, or part of the name)')
    .option('--since <date>', 'only conversations active since DATE (YYYY-MM-DD, ISO time, or Nd for N days ago)')
    .option('--limit <n>', 'show at most N conversations', '50')
    .option('--all', 'include conversations matched to no investor')
    .option('--by-investor', 'one row per investor: conversations, messages, partners involved, last activity')
    .option('--wide', 'show every column, however wide (by default the table fits the terminal, 80 columns when unknown)')
    .addHelpText('after', THREADS_EXAMPLES)
    .action(async (options: { investor?: string; since?: string; limit: string; all?: boolean; byInvestor?: boolean; wide?: boolean }) => {
      const maxWidth = tableWidth({ wide: options.wide, isTTY: ctx.out.isTTY, env: ctx.env });
      const view = await import('../../db/threadsView.js');
      const db = ctx.db();
      const limit = parseLimit(options.limit);
      const sinceMs = options.since === undefined ? undefined : parseSince(options.since);
      let investorIds: number[] | undefined;
      if (options.investor !== undefined) {
        investorIds = investorIdsFor(db, options.investor, ctx.out);
      }
      if (options.byInvestor) {
        const activity = view.listInvestorActivity(db, { investorIds, sinceMs });
        if (ctx.out.json) return ctx.out.data(activity.map(investorActivityJson));
        if (activity.length === 0) return ctx.out.line('No investor has captured mail' + (options.investor || options.since ? ' for that filter.' : ' yet: run `crm-mail sync` first.'));
        ctx.out.write(renderInvestorTable(activity, maxWidth));
        ctx.out.line(`${activity.length} investor${activity.length === 1 ? '' : 's'} with captured mail; list their conversations with: crm-mail threads --investor <name|id>`);
        return;
      }
      const filter = { investorIds, sinceMs, includeUnmatched: Boolean(options.all) };
      const threads = view.listThreads(db, { ...filter, limit });
      const total = view.countThreads(db, filter);
      // One document that says when there are more than it holds (total, limit, truncated).
      if (ctx.out.json) return ctx.out.data({ total, limit, truncated: total > threads.length, threads: threads.map(threadSummaryJson) });
      if (threads.length === 0) {
        ctx.out.line('No conversations found' + (options.investor || options.since ? ' for that filter.' : ': run `crm-mail sync` first.'));
        return;
      }
      ctx.out.write(renderThreadsTable(threads, maxWidth));
      ctx.out.line(total > threads.length ? `${threads.length} of ${total} conversations (use --limit to see more)` : `${total} conversation${total === 1 ? '' : 's'}`);
      ctx.out.line(`Open one with: crm-mail thread <id>`);
    });

  program
    .command('thread')
    .description('print one conversation, oldest message first: headers, text, attachments')
    .argument('<id>', 'thread id (the first column of crm-mail threads)')
    .option('--full', 'show quoted history instead of folding it')
    .addHelpText('after', THREAD_EXAMPLES)
    .action(async (idText: string, options: { full?: boolean }) => {
      const view = await import('../../db/threadsView.js');
      if (!/^\d+$/.test(idText.trim())) throw new UsageError(`thread id must be a number, got "${inertLine(idText)}".`);
      const db = ctx.db();
      const id = Number(idText.trim());
      const rootId = view.resolveThread(db, id);
      const detail = rootId === undefined ? undefined : view.getThread(db, rootId);
      if (!detail) throw new NotFoundError(`no thread ${id}: list them with crm-mail threads.`);
      const messages = logicalMessages(detail, resolve(ctx.config.attachmentsDir));
      if (ctx.out.json) return ctx.out.data(threadDetailJson(detail, messages, id));
      if (rootId !== id) ctx.out.line(`(thread ${id} was merged into thread ${rootId})`);
      ctx.out.write(renderThread(detail, messages, { fold: !options.full }));
    });
}

// ---------------------------------------------------------------------------------------------
// Option parsing

export function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`--limit must be a whole number of at least 1, got "${inertLine(text)}".`);
  return Number(text);
}

/** YYYY-MM-DD (local midnight), an ISO date-time, or Nd (N days ago). */
export function parseSince(text: string, now: number = Date.now()): number {
  const trimmed = text.trim();
  const days = trimmed.match(/^(\d{1,5})d$/i);
  if (days) return now - Number(days[1]) * 86_400_000;
  const date = trimmed.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  if (date) {
    const value = new Date(Number(date[1]), Number(date[2]) - 1, Number(date[3])).getTime();
    if (Number.isFinite(value) && new Date(value).getDate() === Number(date[3])) return value;
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(trimmed)) {
    const value = Date.parse(trimmed);
    if (Number.isFinite(value)) return value;
  }
  throw new UsageError(`--since must be YYYY-MM-DD, an ISO date-time or Nd (days ago), got "${inertLine(text)}".`);
}

// ---------------------------------------------------------------------------------------------
// The list

function personLabel(person: Person): string {
  const name = inertLine(person.name).trim();
  return name !== '' ? name : inertLine(person.address);
}

function listLabel(people: string[], max: number): string {
  if (people.length <= max) return people.join(', ');
  return `${people.slice(0, max).join(', ')} +${people.length - max}`;
}

export function cut(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : points.slice(0, max - 1).join('') + '…';
}

/** Local time, minutes: what a partner reads a date as. */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Even with --wide a cell stops somewhere: a 900-character subject is not a column. */
const WIDE_CELL_MAX = 100;

const THREAD_COLUMNS: TableColumn[] = [
  { head: 'ID', priority: 0, align: 'right' },
  { head: 'Investor', priority: 0, minWidth: 10 },
  { head: 'Subject', priority: 0, minWidth: 14 },
  { head: 'Participants', priority: 3, minWidth: 10 },
  { head: 'Partners', priority: 2, minWidth: 10 },
  { head: 'Msgs', priority: 1, align: 'right' },
  { head: 'Last activity', priority: 0 },
];

// No colours: the table must read the same under cron, in a pipe and on a terminal.
function renderThreadsTable(threads: ThreadSummary[], maxWidth: number | undefined): string {
  const rows = threads.map((thread) => [
    thread.id,
    cut(listLabel(thread.investors.map((investor) => inertLine(investor.name)), 2), WIDE_CELL_MAX),
    cut(`${thread.bulk ? '(bulk) ' : ''}${inertLine(thread.subject).trim() || (thread.subjectWithheld ? '(subject withheld)' : '(no subject)')}`, WIDE_CELL_MAX),
    cut(listLabel(thread.participants.map(personLabel), 2), WIDE_CELL_MAX),
    cut(listLabel(thread.partners.map(personLabel), 3), WIDE_CELL_MAX),
    thread.messages,
    formatTime(thread.lastMessageMs),
  ]);
  return renderTable(THREAD_COLUMNS, rows, { maxWidth, color: false });
}

const INVESTOR_ACTIVITY_COLUMNS: TableColumn[] = [
  { head: 'ID', priority: 0, align: 'right' },
  { head: 'Investor', priority: 0, minWidth: 12 },
  { head: 'Conversations', priority: 2, align: 'right' },
  { head: 'Msgs', priority: 1, align: 'right' },
  { head: 'Partners', priority: 1, minWidth: 12 },
  { head: 'Last activity', priority: 0 },
];

function renderInvestorTable(activity: InvestorActivity[], maxWidth: number | undefined): string {
  const rows = activity.map((row) => [
    row.id,
    cut(inertLine(row.name), WIDE_CELL_MAX),
    row.conversations,
    row.messages,
    cut(listLabel(row.partners.map(personLabel), 3), WIDE_CELL_MAX),
    formatTime(row.lastMessageMs),
  ]);
  return renderTable(INVESTOR_ACTIVITY_COLUMNS, rows, { maxWidth, color: false });
}

function investorActivityJson(row: InvestorActivity): Record<string, unknown> {
  return {
    id: row.id,
    name: inertLine(row.name),
    conversations: row.conversations,
    messages: row.messages,
    partners: row.partners.map(personJson),
    lastActivity: new Date(row.lastMessageMs).toISOString(),
  };
}

function personJson(person: Person): { address: string; name: string | null } {
  return { address: inertLine(person.address), name: person.name === null ? null : inertLine(person.name) };
}

function threadSummaryJson(thread: ThreadSummary): Record<string, unknown> {
  return {
    id: thread.id,
    subject: thread.subject === null ? null : inertLine(thread.subject),
    subjectWithheld: thread.subjectWithheld,
    investors: thread.investors.map((investor) => ({ id: investor.id, name: inertLine(investor.name) })),
    participants: thread.participants.map(personJson),
    partners: thread.partners.map(personJson),
    messages: thread.messages,
    bulk: thread.bulk,
    firstActivity: new Date(thread.firstMessageMs).toISOString(),
    lastActivity: new Date(thread.lastMessageMs).toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// One thread

export interface LogicalMessage {
  messageKey: string;
  /** The copy shown: the first with its body, else the first with its subject, else the first. */
  copy: ThreadMessageCopy;
  mailboxes: Array<{ account: string; name: string | null; deleted: boolean }>;
  investors: Array<{ name: string; strategy: string; matchedAddress: string }>;
  /** path: where the bytes should be; present: whether a file is there now. */
  attachments: Array<ThreadAttachment & { path: string | null; present: boolean }>;
}

/** Folds the mailbox copies of each message into one, oldest first. */
export function logicalMessages(detail: ThreadDetail, attachmentsDir: string): LogicalMessage[] {
  const groups = new Map<string, ThreadMessageCopy[]>();
  for (const copy of detail.copies) {
    const list = groups.get(copy.messageKey) ?? [];
    list.push(copy);
    groups.set(copy.messageKey, list);
  }
  const result: LogicalMessage[] = [];
  for (const [messageKey, copies] of groups) {
    // The fullest copy: a message in several mailboxes shows the most their sharing levels allow together.
    const shown =
      copies.find((copy) => copy.contentLevel === 'full' && copy.bodyText !== null) ?? copies.find((copy) => copy.subject !== null) ?? copies[0]!;
    const emailIds = new Set(copies.map((copy) => copy.emailId));
    const investors = new Map<string, { name: string; strategy: string; matchedAddress: string }>();
    for (const match of detail.matches) {
      if (emailIds.has(match.emailId) && !investors.has(match.name)) investors.set(match.name, { name: match.name, strategy: match.strategy, matchedAddress: match.matchedAddress });
    }
    // The same part in several copies is one attachment; prefer the copy whose bytes are stored.
    const attachments = new Map<string, ThreadAttachment>();
    for (const attachment of detail.attachments) {
      if (!emailIds.has(attachment.emailId)) continue;
      const key = attachment.sha256 ?? `${attachment.partId}:${attachment.filename ?? ''}`;
      const known = attachments.get(key);
      if (!known || (known.status !== 'stored' && attachment.status === 'stored')) attachments.set(key, attachment);
    }
    result.push({
      messageKey,
      copy: shown,
      // By address, not by which account's sync happened to store its copy first.
      mailboxes: copies
        .map((copy) => ({ account: copy.account, name: copy.accountName, deleted: copy.deletedAt !== null }))
        .sort((a, b) => a.account.localeCompare(b.account)),
      investors: [...investors.values()],
      attachments: [...attachments.values()].map((attachment) => {
        const path = attachment.storagePath === null ? null : isAbsolute(attachment.storagePath) ? attachment.storagePath : resolve(attachmentsDir, attachment.storagePath);
        return { ...attachment, path, present: path !== null && existsSync(path) };
      }),
    });
  }
  return result.sort((a, b) => a.copy.internalDateMs - b.copy.internalDateMs || a.copy.emailId - b.copy.emailId);
}

function addressList(json: string | null): Person[] {
  if (!json) return [];
  try {
    const parsed = JSON.parse(json) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((item): item is { address?: unknown; name?: unknown } => typeof item === 'object' && item !== null)
      .map((item) => ({ address: typeof item.address === 'string' ? item.address : '', name: typeof item.name === 'string' ? item.name : null }));
  } catch {
    return [];
  }
}

function formatPerson(person: Person): string {
  const name = inertLine(person.name).trim();
  const address = inertLine(person.address);
  return name !== '' && name.toLowerCase() !== address.toLowerCase() ? `${name} <${address}>` : address;
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'size unknown';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// Where a forwarded or Outlook-style history block starts: everything after it is earlier mail.
const HISTORY_BLOCK_START = [/^\s*-{2,}\s*Original Message\s*-{2,}\s*$/i, /^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$/i, /^\s*Begin forwarded message:\s*$/i];

/**
 * Folds quoted history: each run of ">" lines becomes "[N quoted lines folded]", and an Outlook or
 * forward block ("-----Original Message-----", "From: … Sent: …") folds to the end of the body.
 * Lines must already be inert.
 */
export function foldQuotedHistory(lines: string[]): string[] {
  const out: string[] = [];
  let quoted = 0;
  const flush = (): void => {
    if (quoted > 0) out.push(`[${quoted} quoted line${quoted === 1 ? '' : 's'} folded]`);
    quoted = 0;
  };
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (/^\s*>/.test(line)) {
      quoted++;
      continue;
    }
    if (quoted > 0 && line.trim() === '' && /^\s*>/.test(lines[index + 1] ?? '')) {
      quoted++;
      continue;
    }
    flush();
    const outlookHeader = /^\s*From:\s.+/i.test(line) && lines.slice(index + 1, index + 4).some((next) => /^\s*(Sent|Date):\s/i.test(next));
    if (HISTORY_BLOCK_START.some((pattern) => pattern.test(line)) || outlookHeader) {
      const rest = lines.slice(index).filter((rest) => rest.trim() !== '').length;
      out.push(`[${rest} lines of earlier messages folded]`);
      return out;
    }
    out.push(line);
  }
  flush();
  return out;
}

/** Body text as inert lines, quoted history folded unless asked otherwise, trailing blanks trimmed. */
export function renderBody(body: string, fold: boolean): string[] {
  const lines = body
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => inert(line).replace(/\t/g, '  ').trimEnd());
  const shown = fold ? foldQuotedHistory(lines) : lines;
  while (shown.length > 0 && shown[shown.length - 1]!.trim() === '') shown.pop();
  while (shown.length > 0 && shown[0]!.trim() === '') shown.shift();
  return shown;
}

/** Why a copy holds something back, in the words a partner reads. */
function withheldWhy(copy: ThreadMessageCopy): string {
  return copy.withheldReason === 'retention' ? 'older than the retention period' : "the mailbox's sharing level does not include it";
}

export function renderThread(detail: ThreadDetail, messages: LogicalMessage[], options: { fold: boolean }): string {
  const lines: string[] = [];
  const investors = [...new Set(messages.flatMap((message) => message.investors.map((investor) => inertLine(investor.name))))];
  const partners = new Map<string, string>();
  for (const message of messages) for (const mailbox of message.mailboxes) partners.set(mailbox.account, personLabel({ address: mailbox.account, name: mailbox.name }));
  lines.push(`Thread ${detail.id}: ${inertLine(detail.subject ?? messages[0]?.copy.subject).trim() || '(no subject)'}`);
  lines.push(`Investors: ${investors.join(', ') || '(none)'}`);
  lines.push(`Partners' mailboxes: ${[...partners.values()].join(', ')}`);
  lines.push(`${messages.length} message${messages.length === 1 ? '' : 's'}, oldest first`);
  messages.forEach((message, index) => {
    const copy = message.copy;
    const direction = copy.direction ? ` · ${copy.direction}` : '';
    const rule = `── ${index + 1}/${messages.length} · ${formatTime(copy.internalDateMs)}${direction} `;
    lines.push('', rule.padEnd(78, '─'));
    lines.push(`From:      ${copy.fromAddress ? formatPerson({ address: copy.fromAddress, name: copy.fromName }) : '(unknown)'}`);
    const to = addressList(copy.toJson).map(formatPerson);
    const cc = addressList(copy.ccJson).map(formatPerson);
    if (to.length > 0) lines.push(`To:        ${to.join(', ')}`);
    if (cc.length > 0) lines.push(`Cc:        ${cc.join(', ')}`);
    if (copy.dateHeader) lines.push(`Date:      ${inertLine(copy.dateHeader)}`);
    lines.push(`Subject:   ${inertLine(copy.subject).trim() || (copy.withheld === 'subject' ? `(withheld: ${withheldWhy(copy)})` : '(no subject)')}`);
    lines.push(`Mailboxes: ${message.mailboxes.map((mailbox) => `${inertLine(mailbox.account)}${mailbox.deleted ? ' (deleted in Gmail)' : ''}`).join(', ')}`);
    if (message.investors.length > 0) {
      lines.push(`Investors: ${message.investors.map((investor) => `${inertLine(investor.name)} (${investor.strategy} ${inertLine(investor.matchedAddress)})`).join(', ')}`);
    }
    if (copy.isBulk) lines.push('Bulk:      newsletter or automated mail (never proposed as a note)');
    lines.push('');
    if (copy.withheld !== null) {
      lines.push(`(body withheld: ${withheldWhy(copy)})`);
    } else if (copy.contentLevel === 'metadata' || copy.bodyText === null) {
      lines.push('(headers only: the body was not captured for this message)');
    } else {
      const body = renderBody(copy.bodyText, options.fold);
      lines.push(...(body.length > 0 ? body : ['(empty body)']));
    }
    if (message.attachments.length > 0) {
      lines.push('', 'Attachments:');
      for (const attachment of message.attachments) {
        const name = inertLine(attachment.filename).trim() || '(unnamed)';
        const where =
          attachment.status !== 'stored' || !attachment.path
            ? `not stored (${attachment.status})`
            : attachment.present
              ? attachment.path
              : `${attachment.path} (missing: is CRM_GMAIL_ATTACHMENTS_DIR the folder sync used?)`;
        lines.push(`  ${name}  ${inertLine(attachment.contentType) || 'application/octet-stream'}  ${formatBytes(attachment.size)}  ${inertLine(where)}`);
      }
    }
  });
  return lines.join('\n') + '\n';
}

function threadDetailJson(detail: ThreadDetail, messages: LogicalMessage[], requestedId: number): Record<string, unknown> {
  return {
    id: detail.id,
    requestedId,
    subject: detail.subject === null ? null : inertLine(detail.subject),
    messages: messages.map((message) => ({
      messageKey: inertLine(message.messageKey),
      messageId: message.copy.rfcMessageId === null ? null : inertLine(message.copy.rfcMessageId),
      date: new Date(message.copy.internalDateMs).toISOString(),
      dateHeader: message.copy.dateHeader === null ? null : inertLine(message.copy.dateHeader),
      direction: message.copy.direction,
      from: message.copy.fromAddress ? personJson({ address: message.copy.fromAddress, name: message.copy.fromName }) : null,
      to: addressList(message.copy.toJson).map(personJson),
      cc: addressList(message.copy.ccJson).map(personJson),
      subject: message.copy.subject === null ? null : inertLine(message.copy.subject),
      body: message.copy.contentLevel === 'full' && message.copy.bodyText !== null ? inert(message.copy.bodyText) : null,
      withheld: message.copy.withheld === null ? [] : message.copy.withheld === 'subject' ? ['subject', 'body', 'attachments'] : ['body', 'attachments'],
      withheldReason: message.copy.withheldReason,
      isBulk: Boolean(message.copy.isBulk),
      mailboxes: message.mailboxes,
      investors: message.investors.map((investor) => ({ ...investor, name: inertLine(investor.name), matchedAddress: inertLine(investor.matchedAddress) })),
      attachments: message.attachments.map((attachment) => ({
        filename: attachment.filename === null ? null : inertLine(attachment.filename),
        contentType: attachment.contentType === null ? null : inertLine(attachment.contentType),
        size: attachment.size,
        status: attachment.status,
        sha256: attachment.sha256,
        path: attachment.path,
        present: attachment.present,
      })),
    })),
  };
}
