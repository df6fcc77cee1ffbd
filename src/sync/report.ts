/**
 * How a sync speaks: on a terminal a live progress bar per account (messages, rate, ETA) on stderr;
 * under cron one plain line per account; with --json nothing until the summary object.
 */
import type { Account } from '../db/accounts.js';
import type { AccountProgress, AccountSyncResult } from './accountSync.js';
import type { SyncReporter } from './runSync.js';

const number = new Intl.NumberFormat('en-US');
export const fmt = (value: number): string => number.format(value);

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** The one line per account that cron mails or logs. */
export function resultLine(result: AccountSyncResult): string {
  const c = result.counts;
  const parts = [
    `listed ${fmt(c.listed)}`,
    `stored ${fmt(c.stored)} (${fmt(c.matched)} matched)`,
    `deleted ${fmt(c.deleted)}`,
    `label changes ${fmt(c.labelChanges)}`,
    `attachments ${fmt(c.attachmentsStored)}`,
  ];
  const cost = `${fmt(c.apiCalls)} calls, ${fmt(c.apiUnits)} units, ${formatDuration(result.durationMs)}`;
  const path = typeof result.details.path === 'string' && result.details.path !== result.kind ? ` [${result.details.path}]` : '';
  let line = `${result.account} ${result.status} ${result.kind}${path}: ${parts.join(', ')}; ${cost}`;
  if (result.error) line += ` -- ${oneLine(result.error)}`;
  if (c.deferred > 0) line += ` (${fmt(c.deferred)} deferred: Gmail kept failing them; the next run tries them first)`;
  if (typeof result.details.stopped === 'string') line += ` (stopped at the time budget; the next run resumes exactly there)`;
  if (typeof result.details.attachmentsFailed === 'number') line += ` (${attachmentsNote(result.details)})`;
  if (typeof result.details.unsearchedTerms === 'number') {
    line += ` (${result.details.unsearchedTerms} investor addresses/domains not yet searched in older mail: run crm-mail rematch --remote)`;
  }
  return line;
}

/** What `--verbose` needs of a run: its outcome, its counts and its details (a sync result or a stored run). */
export interface RunFigures {
  kind: string;
  status: string;
  apiCalls: number;
  apiUnits: number;
  retries: number;
  throttled: number;
  deferred: number;
  details: Record<string, unknown> | null;
}

const plural = (count: number, one: string, many = `${one}s`): string => `${fmt(count)} ${count === 1 ? one : many}`;

/**
 * The lines `--verbose` adds on stderr for one account's run, each starting with the account so a
 * log of several accounts greps: the path taken, each Gmail method's calls, units, retries and
 * rate-limit answers, the time waited for quota, and the messages deferred.
 */
export function runDetailLines(email: string, run: RunFigures): string[] {
  const details = run.details ?? {};
  const lines = [`${email} path: ${typeof details.path === 'string' ? details.path : run.kind} (${run.kind} ${run.status})`];
  if (isRecord(details.resumedFrom)) {
    const from = details.resumedFrom as { query?: number; pagesDone?: number; settledInPage?: number };
    lines.push(`${email} resumed: search ${fmt((from.query ?? 0) + 1)}, after ${plural(from.pagesDone ?? 0, 'page')} and ${plural(from.settledInPage ?? 0, 'message')} of the next`);
  }
  if (typeof details.searches === 'number') lines.push(`${email} searches: ${fmt(details.searches)}`);
  if (typeof details.relistSince === 'string') lines.push(`${email} re-list since: ${details.relistSince}`);
  const gmail = isRecord(details.gmail) ? (details.gmail as { byMethod?: Record<string, Partial<Record<'calls' | 'units' | 'retries' | 'throttled', number>>>; quotaWaitMs?: number; rateLimitWaits?: number }) : undefined;
  for (const [method, figures] of Object.entries(gmail?.byMethod ?? {})) {
    lines.push(`${email} gmail ${method}: ${methodFigures(figures.calls ?? 0, figures.units ?? 0, figures.retries ?? 0, figures.throttled ?? 0)}`);
  }
  lines.push(`${email} gmail total: ${methodFigures(run.apiCalls, run.apiUnits, run.retries, run.throttled)}`);
  if (gmail) {
    lines.push(`${email} quota: waited ${formatDuration(gmail.quotaWaitMs ?? 0)} for the account's quota window; ${plural(gmail.rateLimitWaits ?? 0, 'rate-limit answer')} waited out`);
  }
  lines.push(`${email} deferred: ${deferredDetail(run.deferred, details)}`);
  if (typeof details.stopped === 'string') lines.push(`${email} stopped: ${details.stopped}`);
  return lines;
}

function methodFigures(calls: number, units: number, retries: number, throttled: number): string {
  return `${plural(calls, 'call')}, ${plural(units, 'unit')}, ${plural(retries, 'retry', 'retries')}, ${fmt(throttled)} throttled`;
}

function deferredDetail(deferredThisRun: number, details: Record<string, unknown>): string {
  const parts = [`${fmt(deferredThisRun)} this run`];
  if (isRecord(details.deferredRetried)) {
    const retried = details.deferredRetried as { tried?: number; stored?: number; stillDeferred?: number };
    parts.push(`${fmt(retried.tried ?? 0)} from earlier runs tried first (${fmt(retried.stored ?? 0)} stored, ${fmt(retried.stillDeferred ?? 0)} still failing)`);
  }
  parts.push(`${fmt(typeof details.deferredWaiting === 'number' ? details.deferredWaiting : 0)} waiting for the next run`);
  return parts.join('; ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function attachmentsNote(details: Record<string, unknown>): string {
  const failed = details.attachmentsFailed as number;
  const reason = typeof details.attachmentsError === 'string' ? `: ${oneLine(details.attachmentsError)}` : '';
  if (details.attachmentsNotAttempted === true) return `${fmt(failed)} attachment${failed === 1 ? '' : 's'} not downloaded${reason}; retried next run`;
  return `${fmt(failed)} attachment download${failed === 1 ? '' : 's'} failed${reason}; retried next run`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').slice(0, 500);
}

interface Sink {
  write(text: string): void;
}

/** Under cron (no TTY): nothing while running, then one line per account on stdout. */
export class PlainReporter implements SyncReporter {
  constructor(private readonly sink: Sink) {}
  starting(): void {}
  progress(): void {}
  finished(_account: Account, result: AccountSyncResult): void {
    this.sink.write(resultLine(result) + '\n');
  }
  close(): void {}
}

/** With --quiet ("errors only"): the line of each account that did not sync, and nothing else. */
export class FailuresReporter implements SyncReporter {
  constructor(private readonly sink: Sink) {}
  starting(): void {}
  progress(): void {}
  finished(_account: Account, result: AccountSyncResult): void {
    if (result.status !== 'ok') this.sink.write(`error: ${resultLine(result)}\n`);
  }
  close(): void {}
}

/** With --json: silent; the command prints the summary. */
export class SilentReporter implements SyncReporter {
  starting(): void {}
  progress(): void {}
  finished(): void {}
  close(): void {}
}

interface BarState {
  email: string;
  startedAt: number;
  progress?: AccountProgress;
  /** When `progress` arrived (the time left counts down from it). */
  progressAt?: number;
  done?: string;
}

/** On a terminal: one live line per account, redrawn in place on stderr, then the result lines. */
export class TtyReporter implements SyncReporter {
  private bars: BarState[] = [];
  private drawn = 0;
  private last = '';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly stderr: Sink,
    private readonly columns: number = 100,
  ) {}

  starting(accounts: Account[]): void {
    this.bars = accounts.map((account) => ({ email: account.email, startedAt: Date.now() }));
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
    this.draw();
  }

  progress(account: Account, progress: AccountProgress): void {
    const bar = this.bars.find((item) => item.email === account.email);
    if (bar) {
      bar.progress = progress;
      bar.progressAt = Date.now();
    }
  }

  finished(account: Account, result: AccountSyncResult): void {
    const bar = this.bars.find((item) => item.email === account.email);
    if (bar) bar.done = resultLine(result);
    this.draw();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }

  private draw(): void {
    const lines = this.bars.map((bar) => this.render(bar).slice(0, Math.max(40, this.columns - 1)));
    const joined = lines.join('\n');
    if (joined === this.last) return;
    this.last = joined;
    let text = this.drawn > 0 ? `\u001b[${this.drawn}A` : '';
    for (const line of lines) text += `\r\u001b[2K${line}\n`;
    this.drawn = lines.length;
    this.stderr.write(text);
  }

  private render(bar: BarState): string {
    if (bar.done) return bar.done;
    const progress = bar.progress;
    // Accounts beyond CRM_GMAIL_ACCOUNT_CONCURRENCY wait for one ahead of them to finish.
    if (!progress) return `${bar.email}  waiting for a free account slot...`;
    return progressLine(bar.email, progress, Date.now() - (bar.progressAt ?? Date.now()));
  }
}

/**
 * One account's live line. The gauge counts messages settled over the whole listing (so a resumed
 * backfill starts where it was, and moves every 100 messages), and the time left follows from the
 * quota model: messages left times the units of a get, at the account's budget, counting down
 * between updates (under the 2026 model a minute may pass with nothing to show but the wait).
 */
export function progressLine(email: string, progress: AccountProgress, sinceUpdateMs = 0): string {
  if (progress.phase !== 'backfill' && progress.phase !== 'relist') {
    return `${email}  ${progress.phase}  stored ${fmt(progress.stored)}`;
  }
  const done = progress.handled ?? progress.listed;
  const total = progress.estimate !== undefined && progress.estimate >= done ? progress.estimate : undefined;
  const width = 24;
  const filled = total ? Math.min(width, Math.round((done / Math.max(1, total)) * width)) : 0;
  const gauge = total ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : '[' + ' '.repeat(width) + ']';
  const of = total ? `/~${fmt(total)}` : '';
  const left = progress.etaMs === undefined ? undefined : Math.max(0, progress.etaMs - sinceUpdateMs);
  const eta = left !== undefined ? `, ~${formatDuration(Math.round(left / 1000) * 1000)} left at the quota budget` : '';
  return `${email}  ${progress.phase} ${gauge} ${fmt(done)}${of} messages, stored ${fmt(progress.stored)}${eta}`;
}
