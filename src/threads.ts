/**
 * One conversation per thread across mailboxes.
 *
 * A conversation is a References chain: a mailbox copy joins a thread through 'm:<message key>' keys
 * for its own Message-ID (and the id Gmail gave the copy, when that is not the sender's) and every
 * Message-ID it names in In-Reply-To and References, valid across mailboxes since the same message
 * sits in the sender's and every CC'd partner's mailbox. A reply that arrives before its parent
 * leaves the parent's key behind, so the parent joins when it comes. When one message's keys lead
 * to two threads, the threads merge into the older one.
 *
 * Gmail's threadId is kept on each copy but joins nothing: Gmail also threads by subject and
 * participants without any References (docs/sync.md), so two investors' unrelated mail with one
 * subject can share a Gmail thread.
 */
import type { Db } from './db/open.js';
import { addThreadKeys, createThread, liveThreadId, mergeThreadsInto, threadIdsForKeys, touchThread } from './db/threads.js';

export interface ThreadInput {
  messageKey: string;
  /**
   * The Message-ID Gmail gave this copy when it is not the sender's: a reply written in Gmail names
   * it. Not stored, so a purge's thread repair (privacy/purge.ts) rebuilds the keys without it.
   */
  gmailMessageId?: string;
  inReplyTo?: string;
  references: readonly string[];
  subject?: string;
  /** When the message was sent (Date header) or received; widens the thread's span. */
  messageMs?: number;
}

/** The keys a mailbox copy joins by, own key first. */
export function threadKeys(input: ThreadInput): string[] {
  const keys: string[] = [`m:${input.messageKey}`];
  for (const id of [input.gmailMessageId, input.inReplyTo, ...input.references]) {
    if (!id) continue;
    const key = `m:${id}`;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

/** Finds (or creates, or merges into) the conversation of a message; returns its live thread id. Call inside a transaction. */
export function resolveThread(db: Db, input: ThreadInput): number {
  const keys = threadKeys(input);
  const found = threadIdsForKeys(db, keys);
  const live = [...new Set([...found.values()].map((id) => liveThreadId(db, id)))].sort((a, b) => a - b);
  const subject = input.subject && input.subject !== '' ? input.subject : null;
  const messageMs = input.messageMs ?? null;
  let threadId: number;
  if (live.length === 0) {
    threadId = createThread(db, subject, messageMs);
  } else {
    threadId = live[0]!;
    if (live.length > 1) mergeThreadsInto(db, threadId, live.slice(1));
    touchThread(db, threadId, subject, messageMs);
  }
  addThreadKeys(db, threadId, keys);
  return threadId;
}
