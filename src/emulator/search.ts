/**
 * Gmail's `q` search language, evaluated per message (the API does not search thread-wide):
 * from/to/cc/bcc/deliveredto, subject, after/before/older/newer (YYYY/MM/DD as midnight in
 * America/Los_Angeles, or epoch seconds), newer_than/older_than (d/m/y, also h), OR, {}, (), -,
 * quotes, in:/is:/label:/category:, has:attachment, filename:, larger:/smaller:/size:,
 * rfc822msgid:, list:. An unknown operator is plain text; a malformed query never throws.
 */
import { addressMatches, type Address } from './addresses.js';
import type { StoredMessage } from './message-store.js';
import type { Label } from './mailbox.js';

type Node =
  | { t: 'and'; c: Node[] }
  | { t: 'or'; c: Node[] }
  | { t: 'not'; c: Node }
  | { t: 'term'; op: string | null; value: string; quoted: boolean };

type Token =
  | { k: 'lp' | 'rp' | 'lb' | 'rb' | 'neg' | 'or' | 'and' }
  | { k: 'op'; op: string }
  | { k: 'word'; text: string; quoted: boolean };

export interface SearchEnv {
  now: number;
  labels: Map<string, Label>;
  /** Body text of a message, computed only when a query has free-text terms. */
  bodyText(message: StoredMessage): string;
}

const KNOWN_OPS = new Set([
  'from', 'to', 'cc', 'bcc', 'deliveredto', 'subject', 'after', 'before', 'older', 'newer', 'newer_than', 'older_than',
  'in', 'is', 'label', 'category', 'has', 'filename', 'larger', 'smaller', 'size', 'rfc822msgid', 'list',
]);

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = q.length;
  const isSpace = (c: string | undefined): boolean => c === undefined || /\s/.test(c);
  while (i < n) {
    const c = q[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '{' || c === '}') {
      tokens.push({ k: c === '(' ? 'lp' : c === ')' ? 'rp' : c === '{' ? 'lb' : 'rb' });
      i++;
      continue;
    }
    if (c === '-' && !isSpace(q[i + 1])) {
      tokens.push({ k: 'neg' });
      i++;
      continue;
    }
    if (c === '"') {
      const end = q.indexOf('"', i + 1);
      const text = end < 0 ? q.slice(i + 1) : q.slice(i + 1, end);
      tokens.push({ k: 'word', text, quoted: true });
      i = end < 0 ? n : end + 1;
      continue;
    }
    let j = i;
    while (j < n && !/[\s(){}"]/.test(q[j] as string)) j++;
    const word = q.slice(i, j);
    const colon = word.indexOf(':');
    if (colon > 0) {
      const op = word.slice(0, colon).toLowerCase();
      const rest = word.slice(colon + 1);
      if (KNOWN_OPS.has(op)) {
        if (rest === '' && (q[j] === '(' || q[j] === '"' || q[j] === '{')) {
          tokens.push({ k: 'op', op });
          i = j;
          continue;
        }
        if (rest !== '') {
          tokens.push({ k: 'op', op });
          tokens.push({ k: 'word', text: rest, quoted: false });
          i = j;
          continue;
        }
      }
    }
    if (word === 'OR' || word === '|') tokens.push({ k: 'or' });
    else if (word === 'AND') tokens.push({ k: 'and' });
    else tokens.push({ k: 'word', text: word, quoted: false });
    i = j;
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.sequence(null);
    return node;
  }

  /** Terms until a closing token; adjacent terms AND, `OR` binds tighter (as in Gmail). */
  private sequence(close: 'rp' | 'rb' | null, op: string | null = null): Node {
    const items: Node[] = [];
    while (this.pos < this.tokens.length) {
      const token = this.tokens[this.pos] as Token;
      if (close && token.k === close) {
        this.pos++;
        break;
      }
      if (token.k === 'rp' || token.k === 'rb') {
        this.pos++; // stray closer: ignore
        continue;
      }
      if (token.k === 'and') {
        this.pos++;
        continue;
      }
      let node = this.unary(op);
      if (!node) continue;
      while (this.peek()?.k === 'or') {
        this.pos++;
        const right = this.unary(op);
        if (!right) break;
        node = node.t === 'or' ? { t: 'or', c: [...node.c, right] } : { t: 'or', c: [node, right] };
      }
      items.push(node);
    }
    return items.length === 1 ? (items[0] as Node) : { t: 'and', c: items };
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private unary(op: string | null): Node | null {
    const token = this.tokens[this.pos];
    if (!token) return null;
    this.pos++;
    switch (token.k) {
      case 'neg': {
        const inner = this.unary(op);
        return inner ? { t: 'not', c: inner } : null;
      }
      case 'lp':
        return this.sequence('rp', op);
      case 'lb': {
        const inner = this.sequence('rb', op);
        return inner.t === 'and' ? { t: 'or', c: inner.c } : inner;
      }
      case 'op': {
        const next = this.peek();
        if (!next) return { t: 'term', op: null, value: token.op + ':', quoted: false };
        if (next.k === 'word') {
          this.pos++;
          return { t: 'term', op: token.op, value: next.text, quoted: next.quoted };
        }
        if (next.k === 'lp' || next.k === 'lb') {
          this.pos++;
          const inner = this.sequence(next.k === 'lp' ? 'rp' : 'rb', token.op);
          return next.k === 'lb' && inner.t === 'and' ? { t: 'or', c: inner.c } : inner;
        }
        return { t: 'term', op: null, value: token.op + ':', quoted: false };
      }
      case 'word':
        return { t: 'term', op, value: token.text, quoted: token.quoted };
      case 'or':
      case 'and':
        return null;
      default:
        return null;
    }
  }
}

export interface CompiledQuery {
  matches(message: StoredMessage): boolean;
  /** True when the query itself asks for spam/trash (in:spam, in:trash, in:anywhere, label:spam...). */
  reachesSpamTrash: boolean;
}

export function compileQuery(q: string, env: SearchEnv): CompiledQuery {
  const tokens = tokenize(q);
  const tree = new Parser(tokens).parse();
  const reachesSpamTrash = /(^|[\s(-{])(in|label|is):(spam|trash|anywhere)\b/i.test(q);
  return { matches: compileNode(tree, env), reachesSpamTrash };
}

type Predicate = (message: StoredMessage) => boolean;

/** Turns the tree into closures once, so a query over 20,000 messages does no per-message parsing of itself. */
function compileNode(node: Node, env: SearchEnv): Predicate {
  switch (node.t) {
    case 'and': {
      const children = node.c.map((child) => compileNode(child, env));
      return (m) => children.every((p) => p(m));
    }
    case 'or': {
      // Long OR-lists of addresses and domains (a sync's investor query) become set lookups.
      const { indexed, rest } = indexAddressTerms(node.c);
      const children = rest.map((child) => compileNode(child, env));
      if (indexed) return (m) => indexed(m) || children.some((p) => p(m));
      return (m) => children.some((p) => p(m));
    }
    case 'not': {
      const inner = compileNode(node.c, env);
      return (m) => !inner(m);
    }
    case 'term':
      return compileTerm(node.op, node.value, node.quoted, env);
  }
}

const ADDRESS_FIELDS = ['from', 'to', 'cc', 'bcc'] as const;
type AddressField = (typeof ADDRESS_FIELDS)[number];

interface TermSets {
  addresses: Set<string>;
  /** Bare domains: an address matches its domain or any parent domain. Also compared with local parts and whole names. */
  domains: Set<string>;
}

/**
 * Splits OR children into address terms that can be answered by set lookups (a full address, or a
 * dotted bare domain) and the rest. The lookups give the same answers as addressMatches: a dotted
 * term equals a domain or a parent domain, a local part, or a whole display name (never a word,
 * since words are split on dots).
 */
function indexAddressTerms(children: Node[]): { indexed?: Predicate; rest: Node[] } {
  const sets = new Map<AddressField, TermSets>();
  const rest: Node[] = [];
  let count = 0;
  for (const child of children) {
    if (child.t === 'term' && child.op && (ADDRESS_FIELDS as readonly string[]).includes(child.op)) {
      const v = child.value.toLowerCase().trim();
      const full = /^[^@\s]+@[^@\s]+$/.test(v);
      const domain = !v.includes('@') && v.includes('.') && !/\s/.test(v);
      if (full || domain) {
        const fields: AddressField[] = child.op === 'to' ? ['to', 'cc', 'bcc'] : [child.op as AddressField];
        for (const field of fields) {
          let set = sets.get(field);
          if (!set) {
            set = { addresses: new Set(), domains: new Set() };
            sets.set(field, set);
          }
          (full ? set.addresses : set.domains).add(v);
        }
        count++;
        continue;
      }
    }
    rest.push(child);
  }
  if (count < 4) return { rest: children };
  const checks = [...sets.entries()];
  const hit = (entry: Address, set: TermSets): boolean => {
    if (set.addresses.has(entry.address)) return true;
    if (set.domains.size === 0) return false;
    if (set.domains.has(entry.local) || (entry.name !== '' && set.domains.has(entry.name))) return true;
    let domain = entry.domain;
    while (domain) {
      if (set.domains.has(domain)) return true;
      const dot = domain.indexOf('.');
      domain = dot < 0 ? '' : domain.slice(dot + 1);
    }
    return false;
  };
  const indexed: Predicate = (m) => {
    const meta = m.meta;
    for (const [field, set] of checks) {
      for (const entry of meta[field]) if (hit(entry, set)) return true;
    }
    return false;
  };
  return { indexed, rest };
}

function compileTerm(op: string | null, value: string, quoted: boolean, env: SearchEnv): Predicate {
  const v = value.toLowerCase().trim();
  switch (op) {
    case 'from':
      return (m) => anyAddress(m.meta.from, v);
    case 'to':
      return (m) => anyAddress(m.meta.to, v) || anyAddress(m.meta.cc, v) || anyAddress(m.meta.bcc, v);
    case 'cc':
      return (m) => anyAddress(m.meta.cc, v);
    case 'bcc':
      return (m) => anyAddress(m.meta.bcc, v);
    case 'deliveredto':
      return (m) => anyAddress(m.meta.deliveredTo, v);
    default:
      return (m) => matchTerm(op, value, quoted, m, env);
  }
}

function anyAddress(list: Address[], value: string): boolean {
  return list.some((entry) => addressMatches(entry, value));
}

const DAY = 86_400_000;

function matchTerm(op: string | null, value: string, quoted: boolean, message: StoredMessage, env: SearchEnv): boolean {
  const meta = () => message.meta;
  const v = value.toLowerCase();
  switch (op) {
    case 'from':
      return anyAddress(meta().from, v);
    case 'to':
      return anyAddress(meta().to, v) || anyAddress(meta().cc, v) || anyAddress(meta().bcc, v);
    case 'cc':
      return anyAddress(meta().cc, v);
    case 'bcc':
      return anyAddress(meta().bcc, v);
    case 'deliveredto':
      return anyAddress(meta().deliveredTo, v);
    case 'subject':
      return containsWords(meta().subject.toLowerCase(), v, quoted);
    case 'after':
    case 'newer': {
      const t = parseDate(value);
      return t === null ? false : message.internalDate >= t;
    }
    case 'before':
    case 'older': {
      const t = parseDate(value);
      return t === null ? false : message.internalDate < t;
    }
    case 'newer_than': {
      const span = parseSpan(value);
      return span === null ? false : message.internalDate >= env.now - span;
    }
    case 'older_than': {
      const span = parseSpan(value);
      return span === null ? false : message.internalDate < env.now - span;
    }
    case 'in':
    case 'is':
    case 'label':
    case 'category':
      return matchLabel(op, v, message, env);
    case 'has':
      if (v === 'attachment') return meta().hasAttachment;
      if (v === 'userlabels') return message.labels.some((l) => env.labels.get(l)?.type === 'user');
      if (v === 'nouserlabels') return !message.labels.some((l) => env.labels.get(l)?.type === 'user');
      return textMatch(`has:${value}`, false, message, env);
    case 'filename':
      return meta().filenames.some((name) => name === v || name.includes(v) || name.endsWith('.' + v));
    case 'larger':
    case 'size': {
      const bytes = parseSize(value);
      return bytes === null ? false : meta().size > bytes;
    }
    case 'smaller': {
      const bytes = parseSize(value);
      return bytes === null ? false : meta().size < bytes;
    }
    case 'rfc822msgid':
      return meta().rfcMessageId.toLowerCase() === v.replace(/^<|>$/g, '');
    case 'list':
      return meta().listId.includes(v);
    case null:
      return textMatch(value, quoted, message, env);
    default:
      return textMatch(`${op}:${value}`, quoted, message, env);
  }
}

function matchLabel(op: string, v: string, message: StoredMessage, env: SearchEnv): boolean {
  const has = (id: string): boolean => message.labels.includes(id);
  if (op === 'category') {
    const map: Record<string, string> = { primary: 'CATEGORY_PERSONAL', personal: 'CATEGORY_PERSONAL', social: 'CATEGORY_SOCIAL', promotions: 'CATEGORY_PROMOTIONS', updates: 'CATEGORY_UPDATES', forums: 'CATEGORY_FORUMS' };
    const id = map[v];
    return id ? has(id) : false;
  }
  if (v === 'anywhere') return true;
  if (v === 'read') return !has('UNREAD');
  if (v === 'chats' || v === 'chat') return has('CHAT');
  if (v === 'drafts') return has('DRAFT');
  const normalized = v.replace(/[-/ ]/g, '_').toUpperCase();
  if (has(normalized)) return true;
  for (const id of message.labels) {
    const label = env.labels.get(id);
    if (!label) continue;
    const name = label.name.toLowerCase();
    if (id.toLowerCase() === v || name === v || name.replace(/[/ ]/g, '-') === v) return true;
  }
  return false;
}

function containsWords(haystack: string, needle: string, quoted: boolean): boolean {
  if (quoted || !needle.includes(' ')) return haystack.includes(needle.replace(/\s+/g, ' '));
  return needle.split(/\s+/).every((word) => haystack.includes(word));
}

function textMatch(value: string, quoted: boolean, message: StoredMessage, env: SearchEnv): boolean {
  const needle = value.toLowerCase().replace(/\s+/g, ' ').trim();
  if (!needle) return true;
  const meta = message.meta;
  const headerText = [meta.subject, ...[meta.from, meta.to, meta.cc].flat().map((a) => `${a.name} ${a.address}`)].join(' ').toLowerCase();
  if (containsWords(headerText, needle, quoted)) return true;
  const body = env.bodyText(message).toLowerCase().replace(/\s+/g, ' ');
  return containsWords(`${headerText} ${body}`, needle, quoted);
}

/** YYYY/MM/DD (or - / .), MM/DD/YYYY → midnight America/Los_Angeles; digits only → epoch seconds. */
export function parseDate(value: string): number | null {
  const trimmed = value.trim();
  if (/^\d{9,11}$/.test(trimmed)) return Number(trimmed) * 1000;
  let m = /^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$/.exec(trimmed);
  if (m) return losAngelesMidnight(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(trimmed);
  if (m) return losAngelesMidnight(Number(m[3]), Number(m[1]), Number(m[2]));
  return null;
}

const laHour = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour: 'numeric', hourCycle: 'h23' });

function losAngelesMidnight(year: number, month: number, day: number): number | null {
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  // 08:00 UTC is midnight PST; in summer (PDT) it is 01:00, so step back an hour.
  const guess = Date.UTC(year, month - 1, day, 8);
  const hour = Number(laHour.format(new Date(guess)));
  return hour === 0 ? guess : guess - hour * 3_600_000;
}

function parseSpan(value: string): number | null {
  const m = /^(\d+)([hdmy])$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  switch ((m[2] as string).toLowerCase()) {
    case 'h':
      return n * 3_600_000;
    case 'd':
      return n * DAY;
    case 'm':
      return n * 30 * DAY;
    default:
      return n * 365 * DAY;
  }
}

function parseSize(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([kmg]b?|b)?$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase()[0];
  return Math.round(n * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1));
}
