/**
 * One canonical message from whatever Gmail gives us: raw RFC 822 bytes (`format=raw` or a .eml),
 * a `format=full` payload tree (bodies inline, attachments as ids and sizes), or a `format=metadata`
 * header list (enough to match before fetching the body). Every path goes through mailparser, so
 * charsets, RFC 2047 words and RFC 2231 filenames are decoded one way.
 *
 * Pure (no I/O) and total: a message that cannot be parsed fully yields what could be read plus a
 * list of problems; nothing here throws on bad input.
 */
import { createHash } from 'node:crypto';
import type { gmail_v1 } from '@googleapis/gmail';
import type { AddressObject, ParsedMail, Attachment as ParsedAttachment } from 'mailparser';
import { normalizeAddress, type Address } from './addresses.js';
import { decodeEntities, htmlToText } from './htmlText.js';
import { stripTerminalSequences } from './terminalText.js';
import { isOversizedHeaderBlock, reduceHeaderBlock } from './boundedHeaders.js';
import { senderAuthentication, type SenderAuth } from './senderAuth.js';

export type { Address } from './addresses.js';

/** What Gmail says about a mailbox copy, beside the message itself. */
export interface GmailMeta {
  gmailId?: string;
  gmailThreadId?: string;
  labelIds?: string[];
  internalDateMs?: number;
  historyId?: string;
  sizeEstimate?: number;
  /** Gmail's snippet (HTML-entity escaped as Gmail sends it). */
  snippet?: string;
  /** Set when internalDate was not whole milliseconds (read as best it could be) or could not be read at all. */
  internalDateProblem?: string;
}

export interface CanonicalAttachment {
  /** Gmail-style part id: '' for a single-part message, '0', '0.1', ... in a multipart tree. */
  partId: string;
  filename?: string;
  contentType: string;
  /** Decoded size in bytes (Gmail's body.size for parts fetched without their bytes). */
  size: number;
  /** Content-ID without angle brackets. */
  contentId?: string;
  inline: boolean;
  /** Gmail's attachment id (format=full); ephemeral, see docs/pipeline.md. */
  gmailAttachmentId?: string;
  /** The decoded bytes, when they were in what was parsed (format=raw or small inline parts). */
  content?: Buffer;
}

export interface BulkSignals {
  isBulk: boolean;
  listUnsubscribe?: string;
  listId?: string;
  precedence?: string;
  autoSubmitted?: string;
}

export interface CanonicalMessage {
  gmailId?: string;
  gmailThreadId?: string;
  labelIds: string[];
  internalDateMs?: number;
  historyId?: string;
  sizeEstimate?: number;
  /**
   * RFC Message-ID without angle brackets, as the sender wrote it: Gmail's X-Google-Original-Message-ID
   * when Gmail replaced a broken one; absent when the only id is one Gmail added to mail without one.
   */
  messageId?: string;
  /** The Message-ID Gmail gave this mailbox copy, when it is not the sender's (see `messageId`); replies written in Gmail name it. */
  gmailMessageId?: string;
  /** The logical message: the normalized Message-ID, else a stable synthetic key ('synthetic:<hash>'). */
  messageKey: string;
  inReplyTo?: string;
  references: string[];
  subject: string;
  from?: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
  /** The Date header as written. */
  dateHeader?: string;
  /** The Date header as epoch ms, when it could be read. */
  sentMs?: number;
  text: string;
  snippet: string;
  attachments: CanonicalAttachment[];
  bulk: BulkSignals;
  /** Whether Gmail's Authentication-Results vouch for the From domain (DKIM or SPF pass); 'none' when not. */
  senderAuth: SenderAuth;
  /** What could not be parsed; the rest of the message is as good as it could be made. */
  problems: string[];
}

const SNIPPET_LENGTH = 200;
/** Longest body text kept; beyond this the text is cut and a problem recorded. */
export const MAX_TEXT_CHARS = 1_000_000;

const PARSER_OPTIONS = {
  // HTML is converted here (htmlToText), the same way for every message, when there is no text part.
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipImageLinks: true,
  keepCidLinks: true,
  skipTextLinks: true,
  checksumAlgo: false as const,
  // A forwarded message (message/rfc822) stays one attachment, as Gmail lists it in format=full, so
  // part ids and attachment rows are the same whichever format a copy was read from.
  ignoreEmbedded: true,
  maxHtmlLengthToParse: 5_000_000,
};

// ---------------------------------------------------------------------------------------------
// Small normalizers

/** `<abc@host>` -> `abc@host`; '' when there is nothing usable. */
export function normalizeMessageId(value: string | null | undefined): string {
  if (!value) return '';
  const bracketed = value.match(/<([^<>\s]+)>/);
  const id = (bracketed ? bracketed[1]! : value.trim().split(/\s+/)[0] ?? '').replace(/^<|>$/g, '');
  // A Message-ID has no whitespace or control characters, and something on both sides of '@'
  // in practice; a lone word is still accepted (old mailers), but nothing absurdly long.
  if (id === '' || id.length > 998 || /[\x00-\x20\x7f]/.test(id)) return '';
  return id;
}

/**
 * An id Gmail's inbound mail wrote itself, for mail that came without a usable one
 * (`<...SMTPIN_ADDED_MISSING...@mx.google.com>`, `..._BROKEN...`): every mailbox copy gets its
 * own, so it says nothing about which logical message this is.
 */
export function isGmailAssignedMessageId(id: string): boolean {
  return /\.SMTPIN_ADDED_[A-Z_]+\.[^@]*@mx\.google\.com$/i.test(id);
}

/**
 * The sender's Message-ID of a copy: X-Google-Original-Message-ID where Gmail replaced a broken one,
 * else the Message-ID unless Gmail assigned it; plus the id Gmail serves when it differs.
 */
function senderMessageId(served: string, original: string): { messageId: string; gmailMessageId: string } {
  const messageId = original || (isGmailAssignedMessageId(served) ? '' : served);
  return { messageId, gmailMessageId: served !== messageId ? served : '' };
}

/** Every Message-ID in a References/In-Reply-To value, in order, de-duplicated. */
export function messageIdList(value: string | string[] | null | undefined): string[] {
  if (!value) return [];
  const text = Array.isArray(value) ? value.join(' ') : value;
  const bracketed = text.match(/<[^<>]+>/g);
  const tokens = bracketed ?? text.split(/[\s,]+/);
  const out: string[] = [];
  for (const token of tokens) {
    const id = normalizeMessageId(token);
    if (id !== '' && !out.includes(id)) out.push(id);
  }
  return out;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** One-line header-ish text: control characters and BOMs out, whitespace collapsed. */
function cleanLine(value: string | undefined | null): string {
  if (!value) return '';
  return stripTerminalSequences(value.replace(LONE_SURROGATE, '').replace(/\ufeff/g, '').replace(/[\r\n\t]+/g, ' ')).replace(/\s{2,}/g, ' ').trim();
}

/** Body text: BOMs, NULs and other control characters, lone surrogates and U+FFFD removed; LF lines. */
export function cleanText(value: string, problems?: string[]): string {
  let text = value;
  if (problems && text.includes('\ufffd')) problems.push('text: some bytes could not be decoded in the declared charset and were dropped');
  text = stripTerminalSequences(text.replace(/\r\n?/g, '\n'))
    .replace(/\ufeff/g, '')
    .replace(/\ufffd/g, '')
    .replace(LONE_SURROGATE, '')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (text.length > MAX_TEXT_CHARS) {
    problems?.push(`text: longer than ${MAX_TEXT_CHARS} characters, cut`);
    text = text.slice(0, MAX_TEXT_CHARS);
  }
  return text;
}

function makeSnippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= SNIPPET_LENGTH) return flat;
  return flat.slice(0, SNIPPET_LENGTH - 1).trimEnd() + '…';
}

/** Zone abbreviations V8 does not read, as offsets (the common ones in old and Asian mail). */
const ZONES: Record<string, string> = {
  JST: '+0900', KST: '+0900', HKT: '+0800', SGT: '+0800', CST8: '+0800', AWST: '+0800', ACST: '+0930', AEST: '+1000',
  AEDT: '+1100', NZST: '+1200', NZDT: '+1300', IST: '+0530', PKT: '+0500', MSK: '+0300', EET: '+0200', EEST: '+0300',
  CET: '+0100', CEST: '+0200', MET: '+0100', MEST: '+0200', MEZ: '+0100', MESZ: '+0200', WET: '+0000', WEST: '+0100',
  BST: '+0100', HST: '-1000', AKST: '-0900', AKDT: '-0800', AST: '-0400', ADT: '-0300', NST: '-0330', NDT: '-0230',
};

/** Reads an RFC 5322 date (comments, obsolete zones and 2-digit years tolerated); undefined when unreadable. */
export function parseDateHeader(value: string | undefined): number | undefined {
  if (!value) return undefined;
  let cleaned = value.replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ').trim();
  if (cleaned === '') return undefined;
  cleaned = cleaned.replace(/\b([A-Z]{2,5}\d?)$/, (zone: string) => ZONES[zone] ?? zone);
  let ms = Date.parse(cleaned);
  if (Number.isNaN(ms)) {
    // "Mon, 3 Jun 2002 10:00:00 +0200 +0200" and similar: keep the first date-time-zone run.
    const match = cleaned.match(/(\d{1,2}\s+[A-Za-z]{3,}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+[+-]\d{4}|\s+[A-Z]{1,5})?)/);
    if (match) ms = Date.parse(match[1]!);
  }
  if (Number.isNaN(ms)) return undefined;
  // Years before e-mail or far in the future are typos, not dates.
  const year = new Date(ms).getUTCFullYear();
  if (year < 1900 || year > 2200) return undefined;
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Headers

interface HeaderLine {
  key: string;
  line: string;
}

/** The raw value of the first header with this (lower-case) name, unfolded. */
function rawHeader(lines: readonly HeaderLine[], key: string): string | undefined {
  return allRawHeaders(lines, key)[0];
}

/** The raw values of every header with this (lower-case) name, in header order, unfolded. */
function allRawHeaders(lines: readonly HeaderLine[], key: string): string[] {
  return lines.filter((entry) => entry.key === key).map((entry) => entry.line.slice(entry.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim());
}

function addressesFrom(value: AddressObject | AddressObject[] | undefined, role: string, problems: string[]): Address[] {
  if (!value) return [];
  const objects = Array.isArray(value) ? value : [value];
  const out: Address[] = [];
  const seen = new Set<string>();
  const visit = (entry: { name?: string; address?: string; group?: Array<{ name?: string; address?: string; group?: unknown }> }): void => {
    if (entry.group) {
      for (const member of entry.group) visit(member as typeof entry);
      return;
    }
    if (!entry.address) return;
    const address = normalizeAddress(entry.address);
    if (address === '') {
      problems.push(`${role}: not an address: ${JSON.stringify(cleanLine(entry.address).slice(0, 80))}`);
      return;
    }
    if (seen.has(address)) return;
    seen.add(address);
    const name = cleanLine(entry.name);
    out.push(name !== '' && name.toLowerCase() !== address ? { address, name } : { address });
  };
  for (const object of objects) for (const entry of object.value ?? []) visit(entry);
  return out;
}

function bulkSignals(lines: readonly HeaderLine[]): BulkSignals {
  const listUnsubscribe = cleanLine(rawHeader(lines, 'list-unsubscribe')) || undefined;
  const listId = cleanLine(rawHeader(lines, 'list-id')) || undefined;
  const precedence = cleanLine(rawHeader(lines, 'precedence')) || undefined;
  const autoSubmitted = cleanLine(rawHeader(lines, 'auto-submitted')) || undefined;
  const isBulk =
    listUnsubscribe !== undefined ||
    listId !== undefined ||
    (precedence !== undefined && /^(bulk|list|junk)\b/i.test(precedence)) ||
    (autoSubmitted !== undefined && !/^no\b/i.test(autoSubmitted));
  const signals: BulkSignals = { isBulk };
  if (listUnsubscribe) signals.listUnsubscribe = listUnsubscribe;
  if (listId) signals.listId = listId;
  if (precedence) signals.precedence = precedence;
  if (autoSubmitted) signals.autoSubmitted = autoSubmitted;
  return signals;
}

/**
 * A stable key for a message without a Message-ID: the same in every mailbox and every format.
 * Only ASCII letters, digits and a few marks of the headers count, because an undecodable byte is
 * read as U+FFFD by one decoder and as Latin-1 by another (raw vs Gmail's decoded headers).
 */
export function syntheticMessageKey(parts: { from?: string; to?: string[]; cc?: string[]; dateHeader?: string; subject?: string; bodyDigest?: string; fallback?: string }): string {
  const ascii = (value: string): string => value.toLowerCase().replace(/[^a-z0-9@.:+,_-]+/g, '');
  // An address with non-ASCII bytes is exactly what decoders disagree on: left out.
  const addresses = (list: string[]): string => list.filter((a) => /^[\x21-\x7e]+$/.test(a)).join(',');
  const basis = [
    addresses(parts.from ? [parts.from] : []),
    addresses(parts.to ?? []),
    addresses(parts.cc ?? []),
    ascii(parts.dateHeader ?? ''),
    ascii(parts.subject ?? ''),
    parts.dateHeader ? '' : (parts.fallback ?? ''),
  ];
  // Two messages with equal headers but different text are different messages (issue 17): the
  // body's digest joins the basis. Keys of header-only reads (format=metadata) stay as they were.
  if (parts.bodyDigest) basis.push(parts.bodyDigest);
  return 'synthetic:' + createHash('sha256').update(basis.join('\n')).digest('hex').slice(0, 40);
}

/**
 * The digest of a body for the synthetic key, '' for an empty body. Only ASCII letters and digits
 * count, for the same reason as in the headers: raw bytes and Gmail's decoded parts may disagree on
 * undecodable characters and on line breaks, never on the plain letters.
 */
export function bodyDigest(text: string): string {
  const letters = text.toLowerCase().replace(/[^a-z0-9]+/g, '');
  return letters === '' ? '' : createHash('sha256').update(letters).digest('hex');
}

/** mailparser's IMAP part number ('1.2', null for a single part) as Gmail's ('0.1', ''). */
export function gmailPartId(imapPartId: string | null | undefined): string {
  if (!imapPartId) return '';
  return imapPartId
    .split('.')
    .map((n) => String(Math.max(0, Number(n) - 1)))
    .join('.');
}

/** A message with nothing in it yet: empty lists and texts, not bulk, no problems. */
export function blankMessage(messageKey = ''): CanonicalMessage {
  return { labelIds: [], messageKey, references: [], subject: '', to: [], cc: [], bcc: [], replyTo: [], text: '', snippet: '', attachments: [], bulk: { isBulk: false }, senderAuth: 'none', problems: [] };
}

function emptyMessage(meta: GmailMeta | undefined, problems: string[]): CanonicalMessage {
  return {
    ...blankMessage(),
    gmailId: meta?.gmailId,
    gmailThreadId: meta?.gmailThreadId,
    labelIds: meta?.labelIds ?? [],
    internalDateMs: meta?.internalDateMs,
    historyId: meta?.historyId,
    sizeEstimate: meta?.sizeEstimate,
    snippet: meta?.snippet ? cleanLine(decodeEntities(meta.snippet)) : '',
    problems,
  };
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) if (value[key] === undefined) delete value[key];
  return value;
}

/** Builds the canonical message from mailparser's result. */
function fromParsed(parsed: ParsedMail, meta: GmailMeta | undefined, problems: string[], withBody: boolean, rawFallback: string): CanonicalMessage {
  const message = emptyMessage(meta, problems);
  const lines = parsed.headerLines ?? [];

  message.subject = cleanLine(parsed.subject);
  if (message.subject.includes('\ufffd')) problems.push('subject: some bytes could not be decoded');

  const from = addressesFrom(parsed.from, 'from', problems);
  message.from = from[0];
  if (from.length > 1) problems.push(`from: ${from.length} addresses, the first is used`);
  if (!message.from && rawHeader(lines, 'from') !== undefined) problems.push('from: no address could be read');
  message.to = addressesFrom(parsed.to, 'to', problems);
  message.cc = addressesFrom(parsed.cc, 'cc', problems);
  message.bcc = addressesFrom(parsed.bcc, 'bcc', problems);
  message.replyTo = addressesFrom(parsed.replyTo, 'reply-to', problems);

  const rawMessageId = rawHeader(lines, 'message-id');
  const served = normalizeMessageId(parsed.messageId ?? rawMessageId);
  const { messageId, gmailMessageId } = senderMessageId(served, normalizeMessageId(rawHeader(lines, 'x-google-original-message-id')));
  if (messageId) message.messageId = messageId;
  else if (rawMessageId && !served) problems.push('message-id: unreadable, a synthetic key is used');
  if (gmailMessageId) message.gmailMessageId = gmailMessageId;
  const inReplyTo = messageIdList(parsed.inReplyTo ?? rawHeader(lines, 'in-reply-to'))[0];
  if (inReplyTo) message.inReplyTo = inReplyTo;
  message.references = messageIdList(parsed.references ?? rawHeader(lines, 'references'));

  const dateHeader = cleanLine(rawHeader(lines, 'date'));
  if (dateHeader) {
    message.dateHeader = dateHeader;
    const sentMs = parseDateHeader(dateHeader);
    if (sentMs === undefined) problems.push(`date: unreadable Date header ${JSON.stringify(dateHeader.slice(0, 80))}`);
    else message.sentMs = sentMs;
  }

  message.bulk = bulkSignals(lines);
  message.senderAuth = senderAuthentication(allRawHeaders(lines, 'authentication-results'), message.from?.address);

  if (withBody) {
    let text = parsed.text ?? '';
    if (text.trim() === '' && typeof parsed.html === 'string' && parsed.html.trim() !== '') text = htmlToText(parsed.html);
    message.text = cleanText(text, problems);
    if (!message.snippet) message.snippet = makeSnippet(message.text);
    message.attachments = (parsed.attachments ?? []).map(attachmentFrom);
  }

  message.messageKey =
    message.messageId ??
    syntheticMessageKey({
      from: message.from?.address,
      to: message.to.map((a) => a.address),
      cc: message.cc.map((a) => a.address),
      dateHeader: message.dateHeader,
      subject: message.subject,
      bodyDigest: withBody ? bodyDigest(message.text) : undefined,
      // Without a Date header the visible headers may say almost nothing: add the Gmail id (one per
      // mailbox copy, same in every format) or, for a file, the hash of its bytes.
      fallback: meta?.gmailId ?? rawFallback,
    });
  return dropUndefined(message);
}

function attachmentFrom(part: ParsedAttachment): CanonicalAttachment {
  const filename = cleanLine(part.filename);
  const attachment: CanonicalAttachment = {
    partId: gmailPartId(part.partId),
    contentType: (part.contentType || 'application/octet-stream').toLowerCase(),
    size: part.size ?? part.content?.length ?? 0,
    inline: part.contentDisposition === 'inline' || Boolean(part.related),
  };
  if (filename) attachment.filename = filename;
  const cid = cleanLine(part.cid ?? part.contentId?.replace(/^<|>$/g, ''));
  if (cid) attachment.contentId = cid;
  // An empty part's bytes are known (none): kept, so it is stored at once instead of waiting for a
  // download Gmail cannot serve (a part with no body has no attachmentId).
  if (part.content) attachment.content = part.content;
  return attachment;
}

async function runParser(source: Buffer): Promise<ParsedMail> {
  const { simpleParser } = await import('mailparser');
  return simpleParser(source, PARSER_OPTIONS);
}

/** The header block of a raw message (up to the first empty line). */
function headerBlock(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const ends = [crlf >= 0 ? crlf : Infinity, lf >= 0 ? lf : Infinity];
  const end = Math.min(...ends);
  return end === Infinity ? raw : raw.subarray(0, end);
}

/**
 * Parses raw RFC 822 bytes (a .eml, or Gmail's `format=raw` decoded). Never throws: when the MIME
 * structure defeats the parser, the headers alone are read and the failure is listed in `problems`.
 */
export async function parseRaw(raw: Buffer, gmail?: GmailMeta): Promise<CanonicalMessage> {
  const problems: string[] = [];
  let input = raw;
  const rawFallback = gmail?.gmailId ? '' : 'sha256:' + createHash('sha256').update(raw).digest('hex');
  if (input.length >= 3 && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) input = input.subarray(3);
  const head = headerBlock(input);
  if (isOversizedHeaderBlock(head)) {
    // mailparser would refuse the whole message (and its headers alone): read a bounded copy.
    const reduced = reduceHeaderBlock(head);
    problems.push(...reduced.problems);
    input = Buffer.concat([reduced.block, input.subarray(head.length)]);
  }
  try {
    return fromParsed(await runParser(input), gmail, problems, true, rawFallback);
  } catch (error) {
    problems.push(`mime: the message structure could not be parsed (${cleanLine((error as Error).message).slice(0, 200)}); headers only`);
  }
  try {
    const message = fromParsed(await runParser(Buffer.concat([headerBlock(input), Buffer.from('\r\n\r\n')])), gmail, problems, false, rawFallback);
    return message;
  } catch (error) {
    problems.push(`headers: could not be parsed (${cleanLine((error as Error).message).slice(0, 200)})`);
  }
  const message = emptyMessage(gmail, problems);
  message.messageKey = 'synthetic:' + createHash('sha256').update(raw).digest('hex').slice(0, 40);
  return dropUndefined(message);
}

// ---------------------------------------------------------------------------------------------
// Gmail API messages

/** The per-copy facts of a Gmail message resource (ids, labels, internalDate, ...). */
export function gmailMeta(msg: gmail_v1.Schema$Message): GmailMeta {
  const meta: GmailMeta = {
    gmailId: msg.id ?? undefined,
    gmailThreadId: msg.threadId ?? undefined,
    labelIds: msg.labelIds ?? [],
    historyId: msg.historyId ?? undefined,
    sizeEstimate: typeof msg.sizeEstimate === 'number' ? msg.sizeEstimate : undefined,
    snippet: msg.snippet ?? undefined,
  };
  const internalDate = readInternalDate(msg.internalDate);
  meta.internalDateMs = internalDate.ms;
  meta.internalDateProblem = internalDate.problem;
  return dropUndefined(meta);
}

/**
 * Gmail's internalDate is an int64 count of milliseconds sent as a decimal string. Anything else
 * (a fraction, an exponent, a number instead of a string) is read as the whole milliseconds it
 * names, with a problem; what names no time at all is left unset with a problem, never taken as 0.
 */
export function readInternalDate(value: unknown): { ms?: number; problem?: string } {
  if (value === undefined || value === null) return {};
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return { ms: Number(text) };
  const number = text === '' ? Number.NaN : Number(text);
  const shown = JSON.stringify(cleanLine(text).slice(0, 40));
  if (Number.isFinite(number) && number > 0) {
    const ms = Math.floor(number);
    return { ms, problem: `internalDate: ${shown} is not whole milliseconds; read as ${ms} (${new Date(ms).toISOString()})` };
  }
  return { problem: `internalDate: ${shown} is not a time; the Date header stands in` };
}

type Part = gmail_v1.Schema$MessagePart;

const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const FORMAT_ONLY_HEADERS = new Set(['content-transfer-encoding', 'content-length']);

function headerLine(name: string, value: string): string {
  // Values arrive unfolded (and possibly decoded to UTF-8); a stray line break must not end the
  // header block early.
  return `${name}: ${value.replace(/\r?\n(?=[^ \t])/g, '\r\n ').replace(/\r(?!\n)/g, ' ')}`;
}

function base64Lines(bytes: Buffer): string {
  const encoded = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  return lines.join('\r\n');
}

/** Deepest multipart nesting rebuilt as written; deeper containers are flattened into this level. */
export const MAX_PART_DEPTH = 50;

/** The leaf parts under `part`, in document order, walked without recursion. */
function leavesOf(part: Part): Part[] {
  const leaves: Part[] = [];
  const stack: Part[] = [part];
  while (stack.length > 0) {
    const next = stack.pop()!;
    const children = next.parts ?? [];
    if ((next.mimeType ?? '').toLowerCase().startsWith('multipart/') && children.length > 0) {
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    } else {
      leaves.push(next);
    }
  }
  return leaves;
}

/**
 * Rebuilds an RFC 822 message from a `format=full` payload tree (or a header list), so that
 * mailparser decodes it exactly as it decodes raw mail. Leaves are re-emitted base64; multipart
 * containers get fresh boundaries; parts whose bytes Gmail left out (attachmentId) are empty.
 * The tree is walked with an explicit stack: a hostile payload may be nested thousands deep. Below
 * MAX_PART_DEPTH the remaining leaves become direct children of the container at that depth, so
 * their text is kept, and a problem says so.
 */
function rebuildFromPayload(payload: Part, headersOnly: boolean, problems: string[]): Buffer {
  let boundaryCounter = 0;
  let flattened = false;
  const out: string[] = [];
  if (headersOnly) {
    const headers = (payload.headers ?? []).filter((h) => h.name && HEADER_NAME.test(h.name));
    for (const h of headers) if (!/^content-/i.test(h.name!)) out.push(headerLine(h.name!, h.value ?? ''));
    out.push('Content-Type: text/plain; charset=utf-8', '', '');
    return Buffer.from(out.join('\r\n'), 'utf8');
  }
  type Task = { part: Part; depth: number } | { line: string };
  const stack: Task[] = [{ part: payload, depth: 0 }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if ('line' in task) {
      out.push(task.line);
      continue;
    }
    const { part, depth } = task;
    const headers = (part.headers ?? []).filter((h) => h.name && HEADER_NAME.test(h.name));
    const mimeType = (part.mimeType ?? 'text/plain').toLowerCase();
    let children = part.parts ?? [];
    if (mimeType.startsWith('multipart/') && children.length > 0) {
      if (depth >= MAX_PART_DEPTH) {
        children = leavesOf(part);
        flattened = true;
      }
      const boundary = `----=_crm_mail_${depth}_${boundaryCounter++}_rebuilt`;
      for (const h of headers) {
        const lower = h.name!.toLowerCase();
        if (lower === 'content-type' || FORMAT_ONLY_HEADERS.has(lower)) continue;
        out.push(headerLine(h.name!, h.value ?? ''));
      }
      out.push(`Content-Type: ${mimeType}; boundary="${boundary}"`, '');
      // Pushed in reverse so they pop in document order: each child after its boundary line.
      stack.push({ line: '' }, { line: `--${boundary}--` });
      for (let i = children.length - 1; i >= 0; i--) stack.push({ part: children[i]!, depth: depth + 1 }, { line: `--${boundary}` });
      continue;
    }
    let hasType = false;
    for (const h of headers) {
      const lower = h.name!.toLowerCase();
      if (FORMAT_ONLY_HEADERS.has(lower)) continue;
      if (lower === 'content-type') hasType = true;
      out.push(headerLine(h.name!, h.value ?? ''));
    }
    if (!hasType) out.push(`Content-Type: ${mimeType}`);
    out.push('Content-Transfer-Encoding: base64', '');
    const data = part.body?.data ? Buffer.from(part.body.data, 'base64url') : Buffer.alloc(0);
    out.push(base64Lines(data), '');
  }
  if (flattened) problems.push(`mime: parts nested deeper than ${MAX_PART_DEPTH} levels were read as if at level ${MAX_PART_DEPTH}`);
  return Buffer.from(out.join('\r\n'), 'utf8');
}

/** Every part of a payload tree by Gmail part id; parts inside a forwarded message (message/rfc822) are marked. */
function partsById(payload: Part): Map<string, { part: Part; insideMessage: boolean }> {
  const map = new Map<string, { part: Part; insideMessage: boolean }>();
  const stack: Array<{ part: Part; fallbackId: string; insideMessage: boolean }> = [{ part: payload, fallbackId: '', insideMessage: false }];
  while (stack.length > 0) {
    const { part, fallbackId, insideMessage } = stack.pop()!;
    const id = part.partId ?? fallbackId;
    map.set(id, { part, insideMessage });
    const isMessage = (part.mimeType ?? '').toLowerCase().startsWith('message/');
    (part.parts ?? []).forEach((child, index) => stack.push({ part: child, fallbackId: id === '' ? String(index) : `${id}.${index}`, insideMessage: insideMessage || isMessage }));
  }
  return map;
}

/** Joins mailparser's view of the attachments with Gmail's (ids, sizes, Gmail's decoded filename). */
function mergeGmailAttachments(message: CanonicalMessage, payload: Part): void {
  const parts = partsById(payload);
  const seen = new Set<string>();
  for (const attachment of message.attachments) {
    seen.add(attachment.partId);
    const part = parts.get(attachment.partId)?.part;
    if (!part) continue;
    const gmailName = cleanLine(part.filename);
    if (gmailName) attachment.filename = gmailName;
    if (part.body?.attachmentId) {
      attachment.gmailAttachmentId = part.body.attachmentId;
      attachment.size = part.body.size ?? attachment.size;
      delete attachment.content;
    }
  }
  // Parts Gmail holds back by id that mailparser took for body text (a large text part) or skipped.
  for (const [partId, { part, insideMessage }] of parts) {
    // A forwarded message is one attachment (as in raw parsing), not also its inner parts.
    if (seen.has(partId) || insideMessage || !part.body?.attachmentId) continue;
    const mimeType = (part.mimeType ?? 'application/octet-stream').toLowerCase();
    const filename = cleanLine(part.filename);
    if (!filename && mimeType.startsWith('text/')) {
      message.problems.push(`text: part ${partId} (${mimeType}) was not included by Gmail; its text is missing`);
    }
    const disposition = (part.headers ?? []).find((h) => h.name?.toLowerCase() === 'content-disposition')?.value ?? '';
    const contentId = (part.headers ?? []).find((h) => h.name?.toLowerCase() === 'content-id')?.value;
    const attachment: CanonicalAttachment = {
      partId,
      contentType: mimeType,
      size: part.body.size ?? 0,
      inline: /^\s*inline/i.test(disposition),
      gmailAttachmentId: part.body.attachmentId,
    };
    if (filename) attachment.filename = filename;
    const cid = cleanLine(contentId?.replace(/[<>]/g, ''));
    if (cid) attachment.contentId = cid;
    message.attachments.push(attachment);
  }
  message.attachments.sort((a, b) => comparePartIds(a.partId, b.partId));
}

function comparePartIds(a: string, b: string): number {
  const x = a === '' ? [] : a.split('.').map(Number);
  const y = b === '' ? [] : b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Parses a Gmail API message resource in any format: `raw` (decodes `.raw`), `full` (payload tree;
 * attachments as ids and sizes), `metadata` (headers only: no text, no attachments) or `minimal`
 * (ids and labels only; a problem is recorded). Never throws.
 */
export async function parseGmailMessage(msg: gmail_v1.Schema$Message): Promise<CanonicalMessage> {
  const meta = gmailMeta(msg ?? {});
  const message = await parseGmailResource(msg, meta);
  if (meta.internalDateProblem) message.problems.push(meta.internalDateProblem);
  if (message.internalDateMs === undefined && message.sentMs === undefined) {
    message.problems.push('date: neither internalDate nor a Date header gives a time; stored as 1970-01-01, before any proposal cutoff');
  }
  return message;
}

async function parseGmailResource(msg: gmail_v1.Schema$Message, meta: GmailMeta): Promise<CanonicalMessage> {
  if (typeof msg?.raw === 'string' && msg.raw !== '') {
    return parseRaw(Buffer.from(msg.raw, 'base64url'), meta);
  }
  const payload = msg?.payload;
  if (!payload) {
    const message = emptyMessage(meta, ['payload: the message has no payload or raw content (format=minimal?); headers unknown']);
    message.messageKey = syntheticMessageKey({ fallback: meta.gmailId ?? '' });
    return dropUndefined(message);
  }
  const hasBody = Boolean(payload.body?.data || payload.body?.attachmentId || (payload.parts && payload.parts.length > 0));
  const rebuildProblems: string[] = [];
  const message = await parseRaw(rebuildFromPayload(payload, !hasBody, rebuildProblems), meta);
  message.problems.push(...rebuildProblems);
  if (!hasBody) {
    message.text = '';
    message.attachments = [];
    if (meta.snippet) message.snippet = cleanLine(decodeEntities(meta.snippet));
    return message;
  }
  mergeGmailAttachments(message, payload);
  if (meta.snippet) message.snippet = cleanLine(decodeEntities(meta.snippet));
  return message;
}
