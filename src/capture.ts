/**
 * Stores one mailbox copy with everything about it: the email row, its conversation, participants,
 * investor matches and attachment references (bytes stored at once when they are in hand). The
 * caller wraps a page of messages in one transaction; this function only writes.
 */
import type { Db } from './db/open.js';
import type { CanonicalMessage } from './mail/parse.js';
import type { InvestorIndex, MatchResult } from './match/investorIndex.js';
import { bodyDigest } from './mail/parse.js';
import { senderCheck } from './mail/senderAuth.js';
import { findEmailByGmailId, flagDifferingCopies, insertEmail, listEmailsForRematch, matchesOf, replaceMatches, replaceParticipants, setLabels, settleSentDirection, updateEmail, type EmailValues } from './db/emails.js';
import { getAttachment, markAttachmentSkipped, upsertAttachmentStub } from './db/attachments.js';
import { resolveThread } from './threads.js';
import { storeAttachmentNow, type AttachmentStore } from './attachments.js';
import { PermanentError } from './errors.js';
import { shareLevelOf, type ShareLevel, type Withheld } from './db/privacy.js';

export interface CaptureInput {
  accountId: number;
  message: CanonicalMessage;
  match: MatchResult;
  /** 'metadata' when only headers were fetched; a full copy is never downgraded by a later metadata one. */
  contentLevel: 'metadata' | 'full';
  /** When given, attachment bytes already in the message (format=raw) are stored now; over-cap ones are skipped. */
  /** Without `store` (its folder cannot be written this run) inline bytes wait, pending, for a later run. */
  attachments?: { store?: AttachmentStore; maxBytes: number };
}

export interface CaptureResult {
  emailId: number;
  threadId: number;
  /** false when the copy was already stored (it was updated). */
  inserted: boolean;
}

const MAX_FILENAME_CHARS = 1024;

/** The Gmail id of a copy; a message parsed from a file has none, so its logical key stands in. */
export function copyId(message: CanonicalMessage): string {
  return message.gmailId ?? `local:${message.messageKey}`;
}

/** What a mailbox's sharing level keeps of a message: metadata drops the subject as well as the content. */
function withheldAt(level: ShareLevel): Withheld | null {
  return level === 'full' ? null : level === 'metadata' ? 'subject' : 'body';
}

function emailValues(input: CaptureInput, threadId: number, level: ShareLevel): EmailValues {
  const { message, match, accountId } = input;
  const contentLevel = level === 'full' ? input.contentLevel : 'metadata';
  const full = contentLevel === 'full';
  const withheld = withheldAt(level);
  return {
    accountId,
    gmailId: copyId(message),
    gmailThreadId: message.gmailThreadId ?? null,
    threadId,
    messageKey: message.messageKey,
    rfcMessageId: message.messageId ?? null,
    inReplyTo: message.inReplyTo ?? null,
    references: message.references,
    subject: withheld === 'subject' ? null : message.subject,
    from: message.from ?? null,
    to: message.to,
    cc: message.cc,
    bcc: message.bcc,
    replyTo: message.replyTo,
    dateHeader: message.dateHeader ?? null,
    sentMs: message.sentMs ?? null,
    // internalDate is when Gmail accepted the copy; a file has none, so the Date header (else 0,
    // which is before any proposal cutoff) stands in.
    internalDateMs: message.internalDateMs ?? message.sentMs ?? 0,
    direction: match.direction,
    labelIds: message.labelIds,
    snippet: withheld === null ? message.snippet || null : null,
    bodyText: full ? message.text : null,
    sizeEstimate: message.sizeEstimate ?? null,
    historyId: message.historyId ?? null,
    isBulk: message.bulk.isBulk,
    bulkSignals: message.bulk.isBulk ? { ...message.bulk, isBulk: undefined } : null,
    parseProblems: message.problems,
    contentLevel,
    bodyDigest: full ? bodyDigest(message.text) || null : null,
    withheld,
    senderAuth: senderCheck(message),
  };
}

function storeAttachmentRows(db: Db, emailId: number, input: CaptureInput): void {
  for (const attachment of input.message.attachments) {
    const rowId = upsertAttachmentStub(db, {
      emailId,
      partId: attachment.partId,
      gmailAttachmentId: attachment.gmailAttachmentId ?? null,
      filename: attachment.filename ? attachment.filename.slice(0, MAX_FILENAME_CHARS) : null,
      contentType: attachment.contentType,
      size: attachment.size,
      contentId: attachment.contentId ?? null,
      inline: attachment.inline,
    });
    const row = getAttachment(db, rowId);
    if (!row || row.status === 'stored' || row.status === 'skipped') continue;
    const cap = input.attachments?.maxBytes;
    if (cap !== undefined && attachment.size > cap) {
      markAttachmentSkipped(db, rowId, attachment.size, `larger than the ${cap}-byte cap`);
    } else if (input.attachments?.store && attachment.content) {
      storeAttachmentNow(db, input.attachments.store, rowId, attachment.content, input.attachments.maxBytes);
    }
  }
}

/** Stores (or refreshes) one mailbox copy. Excluded mail is refused: it must never be captured. */
export function captureMessage(db: Db, input: CaptureInput): CaptureResult {
  if (input.match.excluded) throw new PermanentError(`refusing to capture excluded mail (${input.match.excluded})`);
  const { message, accountId } = input;
  const existing = findEmailByGmailId(db, accountId, copyId(message));

  if (existing && existing.content_level === 'full' && input.contentLevel === 'metadata') {
    // Already have the body; a headers-only sighting only refreshes labels and matches.
    setLabels(db, accountId, existing.gmail_id, message.labelIds);
    replaceMatches(db, existing.id, input.match.investors);
    return { emailId: existing.id, threadId: existing.thread_id!, inserted: false };
  }

  // The mailbox's sharing level applies here, where the row is written: nothing it holds back is stored.
  const level = shareLevelOf(db, accountId);
  const threadId = resolveThread(db, {
    messageKey: message.messageKey,
    gmailMessageId: message.gmailMessageId,
    inReplyTo: message.inReplyTo,
    references: message.references,
    subject: level === 'metadata' ? undefined : message.subject,
    messageMs: message.sentMs ?? message.internalDateMs,
  });
  const values = emailValues(input, threadId, level);
  let emailId: number;
  if (existing) {
    updateEmail(db, existing.id, values);
    emailId = existing.id;
  } else {
    emailId = insertEmail(db, values);
  }
  replaceParticipants(db, emailId, { from: message.from ?? null, to: message.to, cc: message.cc, bcc: message.bcc, replyTo: message.replyTo });
  replaceMatches(db, emailId, input.match.investors);
  if (values.contentLevel === 'full') storeAttachmentRows(db, emailId, input);
  flagDifferingCopies(db, message.messageKey);
  settleSentDirection(db, message.messageKey);
  return { emailId, threadId, inserted: !existing };
}

export interface RematchResult {
  checked: number;
  changed: number;
  /** Copies that now fall under an exclusion: their matches are removed (the copy stays until purged). */
  excluded: number;
}

/**
 * Matches stored copies again with a fresh index (after investors or exclusions changed) and
 * rewrites the matches that differ. One transaction per page of copies.
 */
export function rematchStoredEmails(db: Db, index: InvestorIndex, options: { investorId?: number; accountId?: number } = {}): RematchResult {
  const result: RematchResult = { checked: 0, changed: 0, excluded: 0 };
  const key = (list: Array<{ investorId: number; strategy: string; address: string }>) => JSON.stringify(list.map((m) => [m.investorId, m.strategy, m.address]));
  let batch: Array<() => void> = [];
  const flush = (): void => {
    const work = batch;
    batch = [];
    db.transaction(() => work.forEach((write) => write()))();
  };
  for (const candidate of listEmailsForRematch(db, options)) {
    result.checked++;
    const match = index.match(candidate, candidate.accountEmail);
    const investors = match.excluded ? [] : match.investors;
    if (match.excluded) result.excluded++;
    if (key(investors) === key(matchesOf(db, candidate.emailId))) continue;
    result.changed++;
    batch.push(() => replaceMatches(db, candidate.emailId, investors));
    if (batch.length >= 500) flush();
  }
  if (batch.length > 0) flush();
  return result;
}
