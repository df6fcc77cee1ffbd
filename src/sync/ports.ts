/**
 * The seams of the sync engine: what it needs from the Gmail access layer, the message pipeline and
 * the attachment worker, stated as small interfaces. `wiring.ts` fills them with the real modules;
 * the engine itself imports none of them, so its logic reads as one piece.
 */
import type { gmail_v1 } from '@googleapis/gmail';

export type GmailMessage = gmail_v1.Schema$Message;
export type GmailHistoryRecord = gmail_v1.Schema$History;

export interface MessageListPage {
  messages: Array<{ id: string; threadId?: string | null }>;
  nextPageToken?: string | null;
  resultSizeEstimate?: number | null;
}

export interface HistoryPage {
  history: GmailHistoryRecord[];
  /** The mailbox's current history id at the time of this page. */
  historyId?: string | null;
  nextPageToken?: string | null;
}

export interface ApiStats {
  calls: number;
  units: number;
  retries: number;
  throttled: number;
  /** Per Gmail method, where the client counts them (the real one does). */
  byMethod?: Record<string, { calls: number; units: number }>;
  setbacksByMethod?: Record<string, { retries: number; throttled: number }>;
  /** Milliseconds calls waited for the account's quota window. */
  quotaWaitMs?: number;
  /** Rate-limit answers waited out. */
  rateLimitWaits?: number;
}

/** What one message get costs and an account's budget per minute: the basis of every time-left estimate. */
export interface QuotaRate {
  unitsPerGet: number;
  unitsPerMinute: number;
}

/** One mailbox's Gmail, as the engine uses it. */
export interface MailboxClient {
  getProfile(): Promise<{ emailAddress?: string | null; historyId?: string | null }>;
  listMessages(options: { q?: string; pageSize?: number; pageToken?: string }): AsyncIterable<MessageListPage>;
  /** Per id: the message, or the error for that id alone (a 404 for one id never fails the others). */
  getMessages(ids: string[], format: 'minimal' | 'metadata' | 'full' | 'raw'): Promise<Map<string, GmailMessage | Error>>;
  listHistory(options: { startHistoryId: string; historyTypes: string[] }): AsyncIterable<HistoryPage>;
  stats(): ApiStats;
  /** What one message get costs and the account's budget, for time-left estimates. */
  quotaRate?(): QuotaRate;
  /** How long `count` message gets would wait for quota if sent now (time budgets). */
  waitForGets?(count: number): number;
}

export interface InvestorMatch {
  investorId: number;
  strategy: 'exact' | 'domain';
  address: string;
}

export interface MatchOutcome {
  investors: InvestorMatch[];
  direction?: 'sent' | 'received' | 'internal';
  excluded?: unknown;
}

/** The parsed message, opaque to the engine apart from what it reports. */
export type ParsedMessage = unknown;

/** The investor index, built once per run from the CRM and shared by every account. */
export interface MatchIndex {
  match(message: ParsedMessage, accountEmail: string): MatchOutcome;
  /** Gmail searches that find every message the index can match. */
  searchQueries(): string[];
  /** The addresses and domains the searches cover (recorded per account as searched_terms). */
  terms(): string[];
  /** Searches covering only these terms (rematch --remote for investors new to the index). */
  queriesForTerms(terms: string[]): string[];
  /** The exclusions as negative terms alone (the capture=all search); '' when none. */
  exclusionSearch(): string;
  /** A search Gmail refused, halved by its terms; one term alone comes back as that term; undefined when it cannot be split. */
  splitSearch(query: string): { parts: [string, string] } | { term: string } | undefined;
}

/** Storage of mailbox copies: the pipeline's capture and the emails table. All synchronous (SQLite). */
export interface MailStore {
  parse(message: GmailMessage): Promise<ParsedMessage>;
  /** What the parser could not read of a message's headers (a header block cut to a bound), if anything. */
  headerProblems(message: ParsedMessage): string[];
  /** Which of these Gmail ids this account already stores (deleted rows included). */
  storedGmailIds(accountId: number, gmailIds: string[]): Set<string>;
  capture(accountId: number, message: ParsedMessage, match: MatchOutcome, contentLevel: 'metadata' | 'full'): { inserted: boolean };
  /** Marks rows deleted in Gmail; returns how many rows changed. */
  markDeleted(accountId: number, gmailIds: string[]): number;
  /** Replaces a stored row's labels; returns whether a row changed. */
  setLabels(accountId: number, gmailId: string, labelIds: string[]): boolean;
  /** Gmail ids of this account's rows not marked deleted, with internalDate at or after sinceMs. */
  activeGmailIdsSince(accountId: number, sinceMs: number): string[];
}

export interface AttachmentOutcome {
  stored: number;
  failed: number;
  skipped: number;
  /** Why attachments failed this run, in words an admin can act on (absent when none did). */
  reason?: string;
  /** The folder could not be written: nothing was attempted, the rows wait for a later run. */
  notAttempted?: boolean;
}
