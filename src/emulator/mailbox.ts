/**
 * One user's mailbox: messages (sorted by internalDate), threads, labels and the history log.
 * Every change goes through here so that each one writes a history record with a fresh,
 * increasing historyId (random gaps, as Gmail's), and history older than the retention window is
 * forgotten (a start id from before it is answered 404 by the API layer).
 */
import { Random, seedFrom } from './random.js';
import { conversationFacts, StoredMessage, threadFacts, type RawSource } from './message-store.js';
import { withGmailMessageId } from './message-ids.js';

export type HistoryKind = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface HistoryRecord {
  id: number;
  /** Emulator-clock time of the change (retention is measured on it). */
  time: number;
  kind: HistoryKind;
  messageId: string;
  threadId: string;
  /** Label set of the message right after the change. */
  labels: string[];
  /** Labels added or removed by a label change. */
  changed?: string[];
}

export interface Label {
  id: string;
  name: string;
  type: 'system' | 'user';
  messageListVisibility?: string;
  labelListVisibility?: string;
}

export const SYSTEM_LABELS = [
  'INBOX', 'SENT', 'DRAFT', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'CHAT',
  'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS',
] as const;

export interface NewMessage {
  raw: Buffer | RawSource;
  labelIds?: string[];
  internalDate?: number;
}

/** Real-Gmail behaviours a mailbox can show (all off by default; docs/emulator.md). */
export interface MailboxBehaviours {
  /** Replace a missing or malformed Message-ID with Gmail's own, per copy (X-Google-Original-Message-ID keeps a broken one). */
  rewriteMessageIds?: boolean;
  /**
   * Join a message that no References/In-Reply-To places into an existing thread with the same
   * subject (reply prefixes aside) and a shared participant, when the thread's last message is at
   * most this many ms older or newer (0: threads join on RFC headers only).
   */
  subjectThreadingWindowMs?: number;
}

/** What a thread offers to subject threading: its latest message's time and everyone in it. */
interface SubjectThread {
  threadId: string;
  lastDate: number;
  participants: Set<string>;
}

export class Mailbox {
  readonly byId = new Map<string, StoredMessage>();
  /** Messages ascending by (internalDate, id); listing walks it backwards (newest first). */
  private ordered: StoredMessage[] = [];
  private readonly threadByRfcId = new Map<string, string>();
  /** Threads by conversation subject (only with subject threading on). */
  private readonly threadsBySubject = new Map<string, SubjectThread[]>();
  readonly threads = new Map<string, StoredMessage[]>();
  readonly labels = new Map<string, Label>();
  history: HistoryRecord[] = [];
  historyId: number;
  /** History ids at or below this are gone (pruned or before the log began). */
  prunedUpTo: number;
  /** Mail-clock time of the newest change whose record is gone (pruned, or loaded without one). */
  private forgottenChangeAt: number;
  /** Bumped on every change, so cached search results know they are stale. */
  version = 0;
  /** History ids' gaps. Separate from `idRandom`: how many records a load writes depends on the clock (retention). */
  private readonly historyRandom: Random;
  /** Message ids' random bits: the same mail loaded in the same order gets the same ids at any clock time. */
  private readonly idRandom: Random;

  constructor(
    readonly email: string,
    private readonly clock: () => number,
    private readonly retentionMs: number,
    private readonly behaviours: MailboxBehaviours = {},
  ) {
    this.historyRandom = new Random(seedFrom('mailbox', email));
    this.idRandom = new Random(seedFrom('mailbox-ids', email));
    this.historyId = 1_000_000 + this.historyRandom.int(0, 8_000_000);
    this.prunedUpTo = this.historyId;
    this.forgottenChangeAt = clock();
    for (const id of SYSTEM_LABELS) {
      const hidden = id.startsWith('CATEGORY_') || id === 'CHAT';
      this.labels.set(id, { id, name: id, type: 'system', messageListVisibility: hidden ? 'hide' : 'show', labelListVisibility: hidden ? 'labelHide' : 'labelShow' });
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** Newest-first iteration over current messages. */
  *newestFirst(): Generator<StoredMessage> {
    for (let i = this.ordered.length - 1; i >= 0; i--) yield this.ordered[i] as StoredMessage;
  }

  /**
   * Loads the initial mailbox. Messages get ascending history ids in date order; only those within
   * the retention window keep a messageAdded record (older history is "already forgotten").
   */
  load(messages: NewMessage[]): void {
    const now = this.clock();
    const entries = messages.map((m, index) => ({ m, index, date: m.internalDate ?? now }));
    entries.sort((a, b) => a.date - b.date || a.index - b.index);
    const cutoff = now - this.retentionMs;
    for (const { m, date } of entries) {
      const stored = this.insert(m.raw, this.cleanLabels(m.labelIds ?? ['INBOX']), date);
      if (date < cutoff) {
        this.prunedUpTo = stored.historyId;
        this.forgottenChangeAt = date;
      } else this.record('messageAdded', stored, undefined, date);
    }
    this.version++;
  }

  add(message: NewMessage): StoredMessage {
    const stored = this.insert(message.raw, this.cleanLabels(message.labelIds ?? ['INBOX', 'UNREAD']), message.internalDate ?? this.clock());
    this.record('messageAdded', stored);
    this.version++;
    return stored;
  }

  delete(id: string): StoredMessage | undefined {
    const message = this.byId.get(id);
    if (!message) return undefined;
    this.byId.delete(id);
    const index = this.findIndex(message);
    if (index >= 0) this.ordered.splice(index, 1);
    const thread = this.threads.get(message.threadId);
    if (thread) {
      const at = thread.indexOf(message);
      if (at >= 0) thread.splice(at, 1);
      if (thread.length === 0) this.threads.delete(message.threadId);
    }
    this.record('messageDeleted', message);
    this.version++;
    return message;
  }

  modifyLabels(id: string, add: string[], remove: string[]): StoredMessage | undefined {
    const message = this.byId.get(id);
    if (!message) return undefined;
    const toAdd = this.cleanLabels(add).filter((l) => !message.labels.includes(l));
    const toRemove = remove.filter((l) => message.labels.includes(l));
    if (toAdd.length > 0) {
      message.labels = [...message.labels, ...toAdd];
      this.record('labelAdded', message, toAdd);
    }
    if (toRemove.length > 0) {
      message.labels = message.labels.filter((l) => !toRemove.includes(l));
      this.record('labelRemoved', message, toRemove);
    }
    if (toAdd.length + toRemove.length > 0) this.version++;
    return message;
  }

  /** Forgets history records older than the retention window. */
  prune(): void {
    const cutoff = this.clock() - this.retentionMs;
    let drop = 0;
    while (drop < this.history.length && (this.history[drop] as HistoryRecord).time < cutoff) drop++;
    if (drop === 0) return;
    this.prunedUpTo = Math.max(this.prunedUpTo, (this.history[drop - 1] as HistoryRecord).id);
    this.forgottenChangeAt = (this.history[drop - 1] as HistoryRecord).time;
    this.history = this.history.slice(drop);
  }

  /** Mail-clock time of the last change at or before history id `start` (the state that id names). */
  changeTimeAt(start: number): number {
    const after = this.historyIndexAfter(start);
    return after > 0 ? (this.history[after - 1] as HistoryRecord).time : this.forgottenChangeAt;
  }

  /** How long ago (mail clock) the state named by history id `start` came about. */
  startIdAgeMs(start: number): number {
    return this.clock() - this.changeTimeAt(start);
  }

  /** Index of the first record with id > start (binary search; records are ascending). */
  historyIndexAfter(start: number): number {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.history[mid] as HistoryRecord).id <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Label ids for a label: system ids as-is; unknown names become user labels. */
  private cleanLabels(ids: string[]): string[] {
    const out: string[] = [];
    for (const raw of ids) {
      const id = raw.trim();
      if (!id) continue;
      if (!this.labels.has(id)) {
        const byName = [...this.labels.values()].find((l) => l.name.toLowerCase() === id.toLowerCase());
        if (byName) {
          if (!out.includes(byName.id)) out.push(byName.id);
          continue;
        }
        this.labels.set(id, { id, name: id, type: 'user', messageListVisibility: 'show', labelListVisibility: 'labelShow' });
      }
      if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  private nextHistoryId(): number {
    this.historyId += this.historyRandom.int(1, 97);
    return this.historyId;
  }

  private record(kind: HistoryKind, message: StoredMessage, changed?: string[], time = this.clock()): void {
    const id = this.nextHistoryId();
    message.historyId = id;
    this.history.push({ id, time, kind, messageId: message.id, threadId: message.threadId, labels: message.labels.slice(), changed });
  }

  private insert(original: Buffer | RawSource, labels: string[], internalDate: number): StoredMessage {
    const id = this.mintId(internalDate);
    // Threading reads the sender's headers: replies name the id the sender wrote, not Gmail's.
    const facts = threadFacts(original);
    // The rewrite needs the bytes, so such a copy is no longer built lazily (only with the option on).
    const source = this.behaviours.rewriteMessageIds ? withGmailMessageId(Buffer.isBuffer(original) ? original : original.raw, `${this.email}/${id}`) : original;
    let threadId: string | undefined;
    for (const parent of facts.parents) {
      threadId = this.threadByRfcId.get(parent);
      if (threadId && this.threads.has(threadId)) break;
      threadId = undefined;
    }
    if (!threadId && facts.messageId) {
      // A parent that arrives after its reply still joins the reply's thread.
      const known = this.threadByRfcId.get(facts.messageId);
      if (known && this.threads.has(known)) threadId = known;
    }
    const subjectWindow = this.behaviours.subjectThreadingWindowMs ?? 0;
    const conversation = subjectWindow > 0 ? conversationFacts(original) : undefined;
    if (!threadId && conversation) threadId = this.threadBySubject(conversation, internalDate, subjectWindow);
    threadId ??= id;
    if (conversation) this.noteSubject(conversation, threadId, internalDate);
    const stored = new StoredMessage(id, threadId, internalDate, labels, this.historyId, source);
    if (facts.messageId && !this.threadByRfcId.has(facts.messageId)) this.threadByRfcId.set(facts.messageId, threadId);
    for (const parent of facts.parents) if (!this.threadByRfcId.has(parent)) this.threadByRfcId.set(parent, threadId);
    this.byId.set(id, stored);
    const thread = this.threads.get(threadId);
    if (thread) thread.push(stored);
    else this.threads.set(threadId, [stored]);
    this.insertOrdered(stored);
    // Messages loaded without a record still need a historyId of their own.
    stored.historyId = this.nextHistoryId();
    return stored;
  }

  /** A live thread with this subject and a participant in common, whose last message is within the window. */
  private threadBySubject(facts: { subject: string; participants: Set<string> }, date: number, windowMs: number): string | undefined {
    if (facts.subject === '') return undefined;
    for (const candidate of this.threadsBySubject.get(facts.subject) ?? []) {
      if (!this.threads.has(candidate.threadId) || Math.abs(date - candidate.lastDate) > windowMs) continue;
      if ([...facts.participants].some((address) => candidate.participants.has(address))) return candidate.threadId;
    }
    return undefined;
  }

  private noteSubject(facts: { subject: string; participants: Set<string> }, threadId: string, date: number): void {
    if (facts.subject === '') return;
    const list = this.threadsBySubject.get(facts.subject) ?? [];
    let entry = list.find((candidate) => candidate.threadId === threadId);
    if (!entry) list.push((entry = { threadId, lastDate: date, participants: new Set() }));
    entry.lastDate = Math.max(entry.lastDate, date);
    for (const address of facts.participants) entry.participants.add(address);
    this.threadsBySubject.set(facts.subject, list);
  }

  /** Gmail-looking 16-hex-digit id derived from the date (ids sort roughly by time). */
  private mintId(internalDate: number): string {
    // date * 2^20 + 20 random bits, in hex: the date's hex digits then five more.
    const high = Math.max(0, Math.floor(internalDate)).toString(16);
    for (;;) {
      const id = (high + this.idRandom.int(0, 1048575).toString(16).padStart(5, '0')).padStart(16, '0');
      if (!this.byId.has(id)) return id;
    }
  }

  private compare(a: StoredMessage, b: StoredMessage): number {
    return a.internalDate - b.internalDate || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  private insertOrdered(message: StoredMessage): void {
    const last = this.ordered[this.ordered.length - 1];
    if (!last || this.compare(last, message) <= 0) {
      this.ordered.push(message);
      return;
    }
    this.ordered.splice(this.lowerBound(message), 0, message);
  }

  private findIndex(message: StoredMessage): number {
    const lo = this.lowerBound(message);
    return this.ordered[lo] === message ? lo : this.ordered.indexOf(message);
  }

  /** The first position in `ordered` whose message does not sort before `message` (binary search). */
  private lowerBound(message: StoredMessage): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.ordered[mid] as StoredMessage, message) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
