/**
 * One stored message and what the API derives from it. The raw bytes are either a Buffer (loaded
 * .eml, added mail) or a lazy source (generated mail) whose `raw` getter rebuilds the bytes on
 * demand, so a 100,000-message mailbox does not keep every message body in memory.
 */
import { parseAddressList, type Address } from './addresses.js';
import { extractText, forEachPart, headerValue, makeSnippet, parseHeaderBlock, parseMime, splitHeaderBody, decodeEncodedWords, type MimeNode } from './mime.js';

/** Anything with RFC 822 bytes; generated messages implement `raw` as a getter. */
export interface RawSource {
  readonly raw: Buffer;
  /** Optional cheap threading facts, so loading does not build the raw bytes. */
  readonly threadHints?: { messageId: string; parents: string[] };
  /** Optional cheap search facts (decoded header values), so a search does not build the raw bytes. */
  readonly searchHints?: SearchHints;
}

export interface SearchHints {
  subject: string;
  from: string;
  to: string;
  cc: string;
  deliveredTo: string;
  /** Without angle brackets. */
  messageId: string;
  listId: string;
  filenames: string[];
}

/** Facts about a message used by search and by the minimal/metadata formats, computed once. */
export interface MessageMeta {
  readonly size: number;
  readonly snippet: string;
  readonly subject: string;
  readonly from: Address[];
  readonly to: Address[];
  readonly cc: Address[];
  readonly bcc: Address[];
  readonly deliveredTo: Address[];
  readonly rfcMessageId: string;
  readonly listId: string;
  readonly hasAttachment: boolean;
  readonly filenames: string[];
}

/**
 * Address headers are kept as text and parsed on first use: only searches need them. Subclasses
 * say where the text comes from (the header block, or search hints).
 */
abstract class LazyAddresses {
  private parsed?: Address[][];

  /** From, To, Cc, Bcc and Delivered-To header text, in that order. */
  protected abstract addressTexts(): string[];

  private list(index: number): Address[] {
    this.parsed ??= this.addressTexts().map((value) => parseAddressList(value));
    return this.parsed[index] as Address[];
  }

  get from(): Address[] {
    return this.list(0);
  }
  get to(): Address[] {
    return this.list(1);
  }
  get cc(): Address[] {
    return this.list(2);
  }
  get bcc(): Address[] {
    return this.list(3);
  }
  get deliveredTo(): Address[] {
    return this.list(4);
  }
}

class Meta extends LazyAddresses implements MessageMeta {
  constructor(
    readonly size: number,
    readonly snippet: string,
    readonly subject: string,
    private readonly addressHeaders: [string, string, string, string, string],
    readonly rfcMessageId: string,
    readonly listId: string,
    readonly hasAttachment: boolean,
    readonly filenames: string[],
  ) {
    super();
  }

  protected addressTexts(): string[] {
    return this.addressHeaders;
  }
}

/**
 * Meta of a source with search hints: header facts come from the hints, size and snippet from the
 * bytes, built only when a get needs them.
 */
class HintMeta extends LazyAddresses implements MessageMeta {
  private display?: { size: number; snippet: string };

  constructor(
    private readonly hints: SearchHints,
    private readonly rawOf: () => Buffer,
  ) {
    super();
  }

  /** Size and snippet from bytes the caller already built. */
  fill(raw: Buffer): void {
    if (!this.display) {
      const full = computeMeta(raw);
      this.display = { size: full.size, snippet: full.snippet };
    }
  }

  get size(): number {
    if (!this.display) this.fill(this.rawOf());
    return (this.display as { size: number }).size;
  }
  get snippet(): string {
    if (!this.display) this.fill(this.rawOf());
    return (this.display as { snippet: string }).snippet;
  }
  get subject(): string {
    return this.hints.subject;
  }
  get rfcMessageId(): string {
    return this.hints.messageId;
  }
  get listId(): string {
    return this.hints.listId.toLowerCase();
  }
  get hasAttachment(): boolean {
    return this.hints.filenames.length > 0;
  }
  get filenames(): string[] {
    return this.hints.filenames.map((f) => f.toLowerCase());
  }
  protected addressTexts(): string[] {
    // Search hints have no Bcc text: an empty header parses to no addresses.
    const h = this.hints;
    return [h.from, h.to, h.cc, '', h.deliveredTo];
  }
}

export class StoredMessage {
  /** Label ids, in the order they were added. */
  labels: string[];
  historyId: number;
  private metaCache?: MessageMeta;

  constructor(
    readonly id: string,
    readonly threadId: string,
    readonly internalDate: number,
    labels: string[],
    historyId: number,
    private readonly source: Buffer | RawSource,
  ) {
    this.labels = labels;
    this.historyId = historyId;
  }

  get raw(): Buffer {
    return Buffer.isBuffer(this.source) ? this.source : this.source.raw;
  }

  get meta(): MessageMeta {
    this.metaCache ??= this.hintMeta() ?? computeMeta(this.raw);
    return this.metaCache;
  }

  /** Meta, computed from bytes the caller already holds (a generated message builds them once). */
  metaFrom(raw: Buffer): MessageMeta {
    this.metaCache ??= this.hintMeta() ?? computeMeta(raw);
    if (this.metaCache instanceof HintMeta) this.metaCache.fill(raw);
    return this.metaCache;
  }

  private hintMeta(): HintMeta | undefined {
    if (Buffer.isBuffer(this.source) || !this.source.searchHints) return undefined;
    const source = this.source;
    return new HintMeta(source.searchHints as SearchHints, () => source.raw);
  }

  /** The parsed MIME tree (not cached: only full/metadata gets and attachments need it). */
  mime(raw: Buffer = this.raw): MimeNode {
    return parseMime(raw);
  }
}

export function computeMeta(raw: Buffer): MessageMeta {
  const root = parseMime(raw);
  const h = (name: string): string => headerValue(root.headers, name) ?? '';
  const filenames: string[] = [];
  let hasAttachment = false;
  forEachPart(root, (node) => {
    if (node.parts.length === 0 && node.isAttachment) {
      hasAttachment = true;
      if (node.filename) filenames.push(node.filename.toLowerCase());
    }
  });
  return new Meta(
    raw.length,
    makeSnippet(extractText(root)),
    h('subject'),
    [h('from'), h('to'), h('cc'), h('bcc'), h('delivered-to')],
    stripBrackets(h('message-id')),
    h('list-id').toLowerCase(),
    hasAttachment,
    filenames,
  );
}

/** Message-ID and parent ids from the header block only (cheap; used to thread at load). */
export function threadFacts(source: Buffer | RawSource): { messageId: string; parents: string[] } {
  if (!Buffer.isBuffer(source) && source.threadHints) return source.threadHints;
  const raw = Buffer.isBuffer(source) ? source : source.raw;
  const headers = parseHeaderBlock(splitHeaderBody(raw).head);
  const messageId = stripBrackets(decodeEncodedWords(headerValue(headers, 'message-id') ?? ''));
  const refs = `${headerValue(headers, 'references') ?? ''} ${headerValue(headers, 'in-reply-to') ?? ''}`;
  const parents = (refs.match(/<[^<>\s]+>/g) ?? []).map(stripBrackets);
  return { messageId, parents };
}

export function stripBrackets(value: string): string {
  return value.trim().replace(/^<|>$/g, '').trim();
}

/** A subject as Gmail's conversation view compares it: reply and forward prefixes gone, spaces folded, case ignored. */
function conversationSubject(subject: string): string {
  let rest = subject.replace(/\s+/g, ' ').trim();
  for (;;) {
    const next = rest.replace(/^(?:re|fwd?|aw|sv|tr|wg)\s*(?:\[\d+\])?\s*:\s*/i, '');
    if (next === rest) return rest.toLowerCase();
    rest = next;
  }
}

/** Subject and participants (From, To, Cc addresses), for threading by subject; hints first, so a generated message is not built. */
export function conversationFacts(source: Buffer | RawSource): { subject: string; participants: Set<string> } {
  let texts: { subject: string; from: string; to: string; cc: string };
  if (!Buffer.isBuffer(source) && source.searchHints) texts = source.searchHints;
  else {
    const headers = parseHeaderBlock(splitHeaderBody(Buffer.isBuffer(source) ? source : source.raw).head);
    const h = (name: string): string => decodeEncodedWords(headerValue(headers, name) ?? '');
    texts = { subject: h('subject'), from: h('from'), to: h('to'), cc: h('cc') };
  }
  const participants = new Set<string>();
  for (const text of [texts.from, texts.to, texts.cc]) for (const entry of parseAddressList(text)) if (entry.address) participants.add(entry.address);
  return { subject: conversationSubject(texts.subject), participants };
}
