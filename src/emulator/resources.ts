/**
 * The Gmail resources the API returns, built from a mailbox: Message in its four formats,
 * list pages, history pages, threads, labels, profile. Shapes follow the discovery schemas:
 * ids, historyIds and internalDate are strings; base64url bodies; attachments by id only.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Mailbox, HistoryKind, HistoryRecord } from './mailbox.js';
import type { StoredMessage } from './message-store.js';
import { extractText, forEachPart, type MimeNode } from './mime.js';
import { compileQuery } from './search.js';
import { invalidArgument, notFound, type ApiError } from './gmail-errors.js';

export type Format = 'minimal' | 'metadata' | 'full' | 'raw';

export type Json = Record<string, unknown>;

const ATTACHMENT_SECRET = randomBytes(16);

/** base64url with '=' padding (the notes advise padding, to catch strict decoders). */
export function base64urlPadded(bytes: Buffer): string {
  const text = bytes.toString('base64url');
  const pad = (4 - (text.length % 4)) % 4;
  return pad === 0 ? text : text + '='.repeat(pad);
}

export function isFormat(value: string): value is Format {
  return value === 'minimal' || value === 'metadata' || value === 'full' || value === 'raw';
}

/** Gmail ids are hex; anything else is a 400 rather than a 404. */
export function validId(id: string): boolean {
  return /^[0-9a-f]{1,32}$/i.test(id);
}

function base(message: StoredMessage, raw?: Buffer): Json {
  const meta = raw ? message.metaFrom(raw) : message.meta;
  const out: Json = { id: message.id, threadId: message.threadId };
  if (message.labels.length > 0) out.labelIds = message.labels.slice();
  out.snippet = meta.snippet;
  out.sizeEstimate = meta.size;
  out.historyId = String(message.historyId);
  out.internalDate = String(message.internalDate);
  return out;
}

/**
 * A format=raw answer as JSON text: the base64url string needs no escaping, so it is spliced in
 * rather than run through JSON.stringify (the hot path of a backfill).
 */
export function renderRawJson(message: StoredMessage): string {
  const raw = message.raw;
  const head = JSON.stringify(base(message, raw));
  return `${head.slice(0, -1)},"raw":"${base64urlPadded(raw)}"}`;
}

export function renderMessage(message: StoredMessage, format: Format, metadataHeaders: string[] = []): Json {
  if (format === 'minimal') return base(message);
  const raw = message.raw;
  const out = base(message, raw);
  if (format === 'raw') {
    out.raw = base64urlPadded(raw);
    return out;
  }
  const root = message.mime(raw);
  if (format === 'metadata') {
    const wanted = new Set(metadataHeaders.map((h) => h.toLowerCase()));
    const headers = wanted.size === 0 ? root.headers : root.headers.filter((h) => wanted.has(h.name.toLowerCase()));
    out.payload = { partId: '', mimeType: root.mimeType, filename: '', headers: headers.map((h) => ({ name: h.name, value: h.value })), body: { size: 0 } };
    return out;
  }
  out.payload = renderPart(root, '', message.id);
  return out;
}

function renderPart(node: MimeNode, partId: string, messageId: string): Json {
  const part: Json = {
    partId,
    mimeType: node.mimeType,
    filename: node.parts.length === 0 && node.isAttachment ? node.filename : '',
    headers: node.headers.map((h) => ({ name: h.name, value: h.value })),
  };
  if (node.parts.length > 0) {
    part.body = { size: 0 };
    part.parts = node.parts.map((child, index) => renderPart(child, partId === '' ? String(index) : `${partId}.${index}`, messageId));
  } else if (node.isAttachment && partId !== '') {
    part.body = { attachmentId: mintAttachmentId(messageId, partId), size: node.body.length };
  } else if (node.isAttachment) {
    // A message that is nothing but an attachment: Gmail still hands it out by id.
    part.body = { attachmentId: mintAttachmentId(messageId, partId), size: node.body.length };
  } else {
    part.body = node.body.length > 0 ? { size: node.body.length, data: base64urlPadded(node.body) } : { size: 0 };
  }
  return part;
}

/** A fresh id per call (Gmail's are ephemeral) that still names the part, signed so it cannot be forged. */
function mintAttachmentId(messageId: string, partId: string): string {
  // The nonce carries the minting time, so an optional TTL can expire old ids.
  const nonce = `${Date.now()}.${randomBytes(4).toString('base64url')}`;
  const payload = `${partId}~${nonce}`;
  const mac = createHmac('sha256', ATTACHMENT_SECRET).update(`${messageId}|${payload}`).digest('base64url').slice(0, 22);
  return 'ANGjdJ' + Buffer.from(`${payload}~${mac}`).toString('base64url');
}

function attachmentPartId(messageId: string, attachmentId: string, ttlMs: number): string | null {
  if (!attachmentId.startsWith('ANGjdJ')) return null;
  const text = Buffer.from(attachmentId.slice(6), 'base64url').toString('utf8');
  const pieces = text.split('~');
  if (pieces.length !== 3) return null;
  const [partId, nonce, mac] = pieces as [string, string, string];
  const expected = createHmac('sha256', ATTACHMENT_SECRET).update(`${messageId}|${partId}~${nonce}`).digest('base64url').slice(0, 22);
  if (mac !== expected) return null;
  if (ttlMs > 0 && Date.now() - Number(nonce.split('.')[0]) > ttlMs) return null;
  return partId;
}

/** `ttlMs` > 0 refuses ids minted longer ago (Gmail's ids are ephemeral; clients must re-fetch). */
export function renderAttachment(message: StoredMessage, attachmentId: string, ttlMs = 0): Json | ApiError {
  const partId = attachmentPartId(message.id, attachmentId, ttlMs);
  if (partId === null) return invalidArgument('Invalid attachment token');
  let found: MimeNode | undefined;
  forEachPart(message.mime(), (node, id) => {
    if (id === partId) found = node;
  });
  if (!found) return notFound();
  return { size: found.body.length, data: base64urlPadded(found.body) };
}

export function bodyTextOf(message: StoredMessage): string {
  return extractText(message.mime());
}

// ---------------------------------------------------------------- listing

export interface ListParams {
  q?: string;
  labelIds: string[];
  includeSpamTrash: boolean;
  maxResults: number;
  pageToken?: string;
}

interface CachedList {
  version: number;
  key: string;
  messages: StoredMessage[];
}

const listCache = new WeakMap<Mailbox, CachedList[]>();

/** All messages matching a listing's filters, newest first (cached per mailbox version). */
export function matchingMessages(mailbox: Mailbox, params: Omit<ListParams, 'maxResults' | 'pageToken'>, now: number): StoredMessage[] {
  const relative = /(newer|older)_than:/i.test(params.q ?? '');
  const key = JSON.stringify([params.q ?? '', [...params.labelIds].sort(), params.includeSpamTrash, relative ? Math.floor(now / 60_000) : 0]);
  const cached = listCache.get(mailbox) ?? [];
  const hit = cached.find((c) => c.key === key && c.version === mailbox.version);
  if (hit) return hit.messages;
  const query = params.q && params.q.trim() ? compileQuery(params.q, { now, labels: mailbox.labels, bodyText: bodyTextOf }) : null;
  const excludeSpamTrash = !params.includeSpamTrash && !(query?.reachesSpamTrash ?? false) && !params.labelIds.some((l) => l === 'SPAM' || l === 'TRASH');
  const out: StoredMessage[] = [];
  for (const message of mailbox.newestFirst()) {
    if (excludeSpamTrash && (message.labels.includes('SPAM') || message.labels.includes('TRASH'))) continue;
    if (params.labelIds.length > 0 && !params.labelIds.every((l) => message.labels.includes(l))) continue;
    if (query && !query.matches(message)) continue;
    out.push(message);
  }
  const fresh = cached.filter((c) => c.version === mailbox.version).slice(-7);
  fresh.push({ version: mailbox.version, key, messages: out });
  listCache.set(mailbox, fresh);
  return out;
}

function positionToken(message: StoredMessage): string {
  return Buffer.from(`${message.internalDate}:${message.id}`).toString('base64url');
}

function parsePositionToken(token: string): { date: number; id: string } | null {
  const m = /^(\d+):([0-9a-f]+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return m ? { date: Number(m[1]), id: m[2] as string } : null;
}

/** Index of the first message strictly older than a position (list is newest first). */
function indexAfter(list: StoredMessage[], position: { date: number; id: string }): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = list[mid] as StoredMessage;
    const newer = m.internalDate > position.date || (m.internalDate === position.date && m.id >= position.id);
    if (newer) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function listMessages(mailbox: Mailbox, params: ListParams, now: number, emptyPageFault = false): Json | ApiError {
  const all = matchingMessages(mailbox, params, now);
  let start = 0;
  if (params.pageToken) {
    if (params.pageToken.startsWith('E')) return { resultSizeEstimate: 0 };
    const position = parsePositionToken(params.pageToken);
    if (!position) return invalidArgument('Invalid pageToken');
    start = indexAfter(all, position);
  }
  const page = all.slice(start, start + params.maxResults);
  const out: Json = {};
  if (page.length > 0) out.messages = page.map((m) => ({ id: m.id, threadId: m.threadId }));
  const last = page[page.length - 1];
  if (last && start + page.length < all.length) out.nextPageToken = positionToken(last);
  else if (emptyPageFault && last) out.nextPageToken = 'E' + positionToken(last);
  out.resultSizeEstimate = all.length;
  return out;
}

export function listThreads(mailbox: Mailbox, params: ListParams, now: number, emptyPageFault = false): Json | ApiError {
  const all = matchingMessages(mailbox, params, now);
  const seen = new Set<string>();
  const threads: StoredMessage[] = [];
  for (const m of all) {
    if (seen.has(m.threadId)) continue;
    seen.add(m.threadId);
    threads.push(m);
  }
  let start = 0;
  if (params.pageToken) {
    if (params.pageToken.startsWith('E')) return { resultSizeEstimate: 0 };
    if (!/^\d+$/.test(params.pageToken)) return invalidArgument('Invalid pageToken');
    start = Number(params.pageToken);
  }
  const page = threads.slice(start, start + params.maxResults);
  const out: Json = {};
  if (page.length > 0) {
    out.threads = page.map((m) => {
      const messages = mailbox.threads.get(m.threadId) ?? [m];
      return { id: m.threadId, snippet: m.meta.snippet, historyId: String(Math.max(...messages.map((x) => x.historyId))) };
    });
  }
  if (start + page.length < threads.length) out.nextPageToken = String(start + page.length);
  else if (emptyPageFault && page.length > 0) out.nextPageToken = 'E' + String(start + page.length);
  out.resultSizeEstimate = threads.length;
  return out;
}

export function renderThread(mailbox: Mailbox, threadId: string, format: Format, metadataHeaders: string[]): Json | ApiError {
  const messages = mailbox.threads.get(threadId);
  if (!messages || messages.length === 0) return notFound();
  const sorted = messages.slice().sort((a, b) => a.internalDate - b.internalDate || (a.id < b.id ? -1 : 1));
  return {
    id: threadId,
    historyId: String(Math.max(...sorted.map((m) => m.historyId))),
    messages: sorted.map((m) => renderMessage(m, format, metadataHeaders)),
  };
}

// ---------------------------------------------------------------- history

export interface HistoryParams {
  startHistoryId?: string;
  historyTypes: string[];
  labelId?: string;
  maxResults: number;
  pageToken?: string;
}

const HISTORY_TYPES: readonly HistoryKind[] = ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'];

/**
 * `startIdMaxAgeMs` > 0: a start id whose last change is older than this is refused even when no
 * record after it was forgotten (a quiet mailbox's cursor, as Gmail has been seen to do).
 */
export function listHistory(mailbox: Mailbox, params: HistoryParams, emptyPageFault = false, startIdMaxAgeMs = 0): Json | ApiError {
  if (!params.startHistoryId || !/^\d{1,18}$/.test(params.startHistoryId)) return invalidArgument('Missing/invalid parameter: startHistoryId');
  for (const type of params.historyTypes) {
    if (!HISTORY_TYPES.includes(type as HistoryKind)) return invalidArgument(`Invalid value at 'history_types' (${type})`);
  }
  mailbox.prune();
  const start = Number(params.startHistoryId);
  if (start < mailbox.prunedUpTo) return notFound();
  if (startIdMaxAgeMs > 0 && mailbox.startIdAgeMs(start) > startIdMaxAgeMs) return notFound();
  const current = String(mailbox.historyId);
  let from = start;
  if (params.pageToken) {
    if (params.pageToken.startsWith('E')) return { historyId: current };
    if (!/^\d+$/.test(params.pageToken)) return invalidArgument('Invalid pageToken');
    from = Number(params.pageToken);
    if (from < mailbox.prunedUpTo) return notFound();
  }
  const types = params.historyTypes.length > 0 ? new Set(params.historyTypes) : null;
  const wanted = (r: HistoryRecord): boolean =>
    (!types || types.has(r.kind)) && (!params.labelId || r.labels.includes(params.labelId) || (r.changed?.includes(params.labelId) ?? false));
  const page: HistoryRecord[] = [];
  let i = mailbox.historyIndexAfter(from);
  let more = false;
  for (; i < mailbox.history.length; i++) {
    const record = mailbox.history[i] as HistoryRecord;
    if (!wanted(record)) continue;
    if (page.length === params.maxResults) {
      more = true;
      break;
    }
    page.push(record);
  }
  const out: Json = {};
  if (page.length > 0) out.history = page.map(renderHistoryRecord);
  out.historyId = current;
  const last = page[page.length - 1];
  if (more && last) out.nextPageToken = String(last.id);
  else if (emptyPageFault && last) out.nextPageToken = 'E' + String(last.id);
  return out;
}

function renderHistoryRecord(record: HistoryRecord): Json {
  const ref = { id: record.messageId, threadId: record.threadId };
  const withLabels = { ...ref, labelIds: record.labels.slice() };
  const out: Json = { id: String(record.id), messages: [ref] };
  switch (record.kind) {
    case 'messageAdded':
      out.messagesAdded = [{ message: withLabels }];
      break;
    case 'messageDeleted':
      out.messagesDeleted = [{ message: ref }];
      break;
    case 'labelAdded':
      out.labelsAdded = [{ message: withLabels, labelIds: record.changed ?? [] }];
      break;
    case 'labelRemoved':
      out.labelsRemoved = [{ message: withLabels, labelIds: record.changed ?? [] }];
      break;
  }
  return out;
}

// ---------------------------------------------------------------- profile, labels

export function renderProfile(mailbox: Mailbox): Json {
  return { emailAddress: mailbox.email, messagesTotal: mailbox.size, threadsTotal: mailbox.threads.size, historyId: String(mailbox.historyId) };
}

export function renderLabels(mailbox: Mailbox): Json {
  return { labels: [...mailbox.labels.values()].map((l) => ({ ...l })) };
}

export function renderLabel(mailbox: Mailbox, id: string): Json | ApiError {
  const label = mailbox.labels.get(id);
  if (!label) return notFound();
  let total = 0;
  let unread = 0;
  const threads = new Set<string>();
  const unreadThreads = new Set<string>();
  for (const m of mailbox.byId.values()) {
    if (!m.labels.includes(id)) continue;
    total++;
    threads.add(m.threadId);
    if (m.labels.includes('UNREAD')) {
      unread++;
      unreadThreads.add(m.threadId);
    }
  }
  return { ...label, messagesTotal: total, messagesUnread: unread, threadsTotal: threads.size, threadsUnread: unreadThreads.size };
}

export function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value && typeof (value as ApiError).status === 'number' && typeof (value as ApiError).body === 'object' && (value as ApiError).body !== null && 'error' in (value as ApiError).body;
}

