/**
 * The deterministic scenario generator: a venture firm's partners, its investors (institutions
 * with several contacts on their own domains, angels on personal domains, one sub-domain sender)
 * and a year of mail between them, with the ground truth of which investors each message involves.
 *
 * Messages are kept as compact records; each mailbox copy builds its RFC 822 bytes on demand
 * (`raw` getter), so the large preset (100,000 copies) generates in seconds and stays small.
 * `messages` is the target number of messages per partner mailbox (copies included).
 */
import { Random, seedFrom } from '../random.js';
import type { SearchHints } from '../message-store.js';
import { buildMessage, gmailAuthenticationResults, formatAddress, formatDate, pdfLike, textToHtml, encodeWord, type Attachment822 } from './rfc822.js';
import {
  CITIES, COMPANIES, EVENTS, FIRST_NAMES, INDUSTRY_NEWSLETTERS, INSTITUTION_KINDS, INSTITUTION_WORDS, LAST_NAMES, NEWSLETTER_TOPICS,
  PERSONAL_DOMAINS, PERSONAL_SERVICES, PLACES,
} from './pools.js';
import {
  INDUSTRY_NEWSLETTER, INTERNAL_PLOTS, INVESTOR_NEWSLETTER, INVESTOR_PLOTS, PERSONAL_PLOTS, type AttachmentKey, type Ctx, type Plot, type Role,
} from './plots.js';

export type MessageKind = 'investor' | 'newsletter' | 'internal' | 'personal';

export interface ScenarioOptions {
  seed?: number;
  partners?: number;
  investors?: number;
  /** Target messages per partner mailbox (mailbox copies, so a message CC'd to two partners counts twice). */
  messages?: number;
  /** Share of mailbox copies that are investor mail (0..1). */
  investorFraction?: number;
  domain?: string;
  start?: Date;
  end?: Date;
}

export interface ScenarioInvestor {
  id: number;
  name: string;
  firm: string | null;
  /** The CRM cell as a person typed it: several addresses, names, odd separators and case. */
  emailCell: string;
  /** Every address of the investor's people that appears in mail (not all are in emailCell). */
  contacts: string[];
  /** Domains that identify the investor (empty for angels on personal domains). */
  domains: string[];
}

export interface TruthEntry {
  /** RFC Message-ID exactly as in the header, with angle brackets. */
  messageId: string;
  kind: MessageKind;
  /** Investors whose people are in From/To/Cc of this message (empty for newsletters). */
  investorIds: number[];
}

export interface Scenario {
  domain: string;
  firmName: string;
  partners: Array<{ email: string; name: string }>;
  investors: ScenarioInvestor[];
  /** Per partner email: the mailbox, oldest first. Each entry's `raw` is built on access. */
  mailboxes: Record<string, GeneratedMessage[]>;
  /** Per partner email, in the same order as `mailboxes`. */
  truth: Record<string, TruthEntry[]>;
  options: Required<Omit<ScenarioOptions, 'start' | 'end'>> & { start: Date; end: Date };
}

/** Presets: small = the demo firm; medium; large = 5 mailboxes x 20,000 messages, 5% investor mail. */
export const SCENARIOS = {
  small: { seed: 7, partners: 3, investors: 12, messages: 100, investorFraction: 0.35 },
  medium: { seed: 11, partners: 5, investors: 50, messages: 1000, investorFraction: 0.3 },
  large: { seed: 13, partners: 5, investors: 200, messages: 20_000, investorFraction: 0.05 },
} as const satisfies Record<string, ScenarioOptions>;

interface Person {
  name: string;
  email: string;
  /** 0 when not an investor's person. */
  investorId: number;
}

interface ThreadRec {
  seed: number;
  plot: Plot;
  roles: Partial<Record<Role, number>>;
  /** Investor behind L/L2 and behind I2 (0 when none), for the context text. */
  investorId: number;
  investorId2: number;
  messages: MsgRec[];
}

interface MsgRec {
  thread: ThreadRec;
  index: number;
  date: number;
  from: number;
  to: number[];
  cc: number[];
  truth: TruthEntry;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** One mailbox copy of a generated message; `raw` is rebuilt from the records on each access. */
export class GeneratedMessage {
  constructor(
    private readonly world: World,
    private readonly msg: MsgRec,
    private readonly owner: number,
    readonly labelIds: string[],
    readonly internalDate: number,
  ) {}

  get raw(): Buffer {
    return this.world.build(this.msg, this.owner);
  }

  get searchHints(): SearchHints {
    return this.world.searchHints(this.msg, this.owner);
  }

  get threadHints(): { messageId: string; parents: string[] } {
    const strip = (id: string): string => id.slice(1, -1);
    const parents = this.msg.thread.messages.slice(0, this.msg.index).map((m) => strip(m.truth.messageId));
    return { messageId: strip(this.msg.truth.messageId), parents };
  }

  get truth(): TruthEntry {
    return this.msg.truth;
  }
}

const ATTACHMENTS: Record<AttachmentKey, { name: (c: Ctx) => string; mimeType: string; variant: (c: Ctx) => string }> = {
  'lp-letter': { name: (c) => `${c.fund} ${c.quarter} LP Letter.pdf`, mimeType: 'application/pdf', variant: (c) => c.quarter },
  'capital-call': { name: (c) => `Capital Call Notice ${c.callNo}.pdf`, mimeType: 'application/pdf', variant: (c) => String(c.callNo) },
  'data-room-index': { name: () => 'Data Room Index.pdf', mimeType: 'application/pdf', variant: () => '' },
  'ic-memo': { name: (c) => `IC Memo - ${c.company}.pdf`, mimeType: 'application/pdf', variant: (c) => c.company },
  'board-deck': { name: (c) => `${c.company} Board Deck.pdf`, mimeType: 'application/pdf', variant: (c) => c.company },
  'term-sheet': { name: (c) => `${c.company} Series A Term Sheet.pdf`, mimeType: 'application/pdf', variant: (c) => c.company },
  photos: { name: () => 'summit.jpg', mimeType: 'image/jpeg', variant: (c) => c.x },
};

class World {
  readonly people: Person[] = [];
  private readonly attachmentCache = new Map<string, Buffer>();

  constructor(
    readonly domain: string,
    readonly firmName: string,
    readonly fundName: string,
    readonly investorsById: Map<number, ScenarioInvestor>,
    readonly newsletterOf: Map<number, { name: string; list: string }>,
  ) {}

  private readonly hosts: string[] = [];

  add(person: Person): number {
    this.people.push(person);
    const domain = person.email.split('@')[1] ?? 'localhost';
    this.hosts.push(PERSONAL_DOMAINS.includes(domain) ? 'mail.gmail.com' : domain);
    return this.people.length - 1;
  }

  /** The host part of Message-IDs this person's mail client writes. */
  messageIdHost(index: number): string {
    return this.hosts[index] as string;
  }

  person(index: number): Person {
    return this.people[index] as Person;
  }

  context(thread: ThreadRec, date: number): Ctx {
    const r = new Random(thread.seed);
    const first = (role: Role): string => {
      const i = thread.roles[role];
      if (i === undefined) return '';
      const p = this.person(i);
      return p.name.split(' ')[0] || p.email.split('@')[0] || '';
    };
    const investor = this.investorsById.get(thread.investorId);
    const investor2 = this.investorsById.get(thread.investorId2);
    const d = new Date(date);
    const q = Math.floor(d.getUTCMonth() / 3);
    const quarter = q === 0 ? `Q4 ${d.getUTCFullYear() - 1}` : `Q${q} ${d.getUTCFullYear()}`;
    const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
    const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];
    const due = new Date(date + 10 * DAY);
    const [company, company2, company3] = r.sample(COMPANIES, 3) as [string, string, string];
    const l2 = thread.roles.L2 !== undefined ? this.person(thread.roles.L2) : undefined;
    return {
      p: first('P'),
      p2: first('P2'),
      l: first('L'),
      l2: first('L2') || 'our operations team',
      l2Email: l2?.email ?? '',
      i2: first('I2'),
      x: first('X'),
      firm: investor?.firm ?? investor?.name ?? 'your firm',
      firm2: investor2?.firm ?? investor2?.name ?? 'We',
      ourFirm: this.firmName,
      fund: this.fundName,
      quarter,
      amount: `$${String(r.int(5, 400) * 2500).replace(/\B(?=(\d{3})+$)/g, ',')}`,
      dueDate: `${months[due.getUTCMonth()]} ${due.getUTCDate()}, ${due.getUTCFullYear()}`,
      callNo: 1 + (Math.floor((date / DAY) / 45) % 12),
      company,
      company2,
      company3,
      coinvestor: r.pick(['Foxglove Ventures', 'Bramble Capital', 'Northlight Partners', 'Quarry Hill Ventures', 'a strategic investor']),
      pct: r.int(12, 85),
      irr: r.int(9, 31),
      tvpi: (1 + r.int(5, 140) / 100).toFixed(2),
      day: r.pick(days),
      day2: r.pick(days),
      time: r.pick(['9:30', '10:00', '11:30', '2:00', '3:30', '4:00']),
      month: months[(d.getUTCMonth() + 1) % 12] as string,
      place: r.pick(PLACES),
      event: r.pick(EVENTS),
      city: r.pick(CITIES),
      target: `$${r.pick([150, 200, 250, 300, 400])}M`,
      topic: r.pick(NEWSLETTER_TOPICS),
      week: 1 + (Math.floor(date / (7 * DAY)) % 52),
    };
  }

  private attachment(key: AttachmentKey, ctx: Ctx): Attachment822 {
    const spec = ATTACHMENTS[key];
    const cacheKey = `${key}|${spec.variant(ctx)}`;
    let content = this.attachmentCache.get(cacheKey);
    if (!content) {
      const seed = seedFrom('attachment', cacheKey);
      const size = 6_000 + (seed % 18_000);
      content = key === 'photos' ? jpegLike(size, seed) : pdfLike(spec.name(ctx), size, seed);
      this.attachmentCache.set(cacheKey, content);
    }
    return { filename: spec.name(ctx), mimeType: spec.mimeType, content };
  }

  /** The header facts search needs, without building the message. */
  searchHints(msg: MsgRec, owner: number): SearchHints {
    const thread = msg.thread;
    const plot = thread.plot;
    const step = plot.steps[msg.index] ?? plot.steps[0];
    const ctx = this.context(thread, (thread.messages[0] as MsgRec).date);
    const plain = (i: number): string => {
      const p = this.person(i);
      return p.name ? `"${p.name.replace(/"/g, '')}" <${p.email}>` : p.email;
    };
    const list = plot.kind === 'newsletter' ? this.newsletterOf.get(msg.from) : undefined;
    const from = this.person(msg.from);
    return {
      subject: (msg.index > 0 ? 'Re: ' : '') + plot.subject(ctx),
      from: plain(msg.from),
      to: msg.to.map(plain).join(', '),
      cc: msg.cc.map(plain).join(', '),
      deliveredTo: owner !== msg.from ? this.person(owner).email : '',
      messageId: msg.truth.messageId.slice(1, -1),
      listId: plot.kind === 'newsletter' ? `${list?.name ?? from.name} <${list?.list ?? from.email.split('@')[1]}>` : '',
      filenames: step?.attach ? [ATTACHMENTS[step.attach].name(ctx)] : [],
    };
  }

  build(msg: MsgRec, owner: number): Buffer {
    const thread = msg.thread;
    const plot = thread.plot;
    const step = plot.steps[msg.index] ?? plot.steps[0];
    if (!step) throw new Error('generator: empty plot');
    const first = thread.messages[0] as MsgRec;
    const ctx = this.context(thread, first.date);
    const from = this.person(msg.from);
    let text = step.body(ctx);
    if (msg.index > 0) {
      const previous = thread.messages[msg.index - 1] as MsgRec;
      const prevStep = plot.steps[previous.index] ?? step;
      const prevFrom = this.person(previous.from);
      const quoted = prevStep.body(ctx).split('\n').map((line) => (line ? `> ${line}` : '>')).join('\n');
      text += `\n\nOn ${formatDate(previous.date)}, ${prevFrom.name} <${prevFrom.email}> wrote:\n${quoted}`;
    }
    const subject = (msg.index > 0 ? 'Re: ' : '') + plot.subject(ctx);
    const headers: Array<[string, string]> = [];
    if (owner !== msg.from) headers.push(['Delivered-To', this.person(owner).email], gmailAuthenticationResults(from.email));
    headers.push(['Date', formatDate(msg.date)]);
    headers.push(['From', formatAddress(from)]);
    headers.push(['To', msg.to.map((i) => formatAddress(this.person(i))).join(', ')]);
    if (msg.cc.length > 0) headers.push(['Cc', msg.cc.map((i) => formatAddress(this.person(i))).join(', ')]);
    headers.push(['Subject', encodeWord(subject)]);
    headers.push(['Message-ID', msg.truth.messageId]);
    if (msg.index > 0) {
      const refs = thread.messages.slice(0, msg.index).map((m) => m.truth.messageId);
      headers.push(['In-Reply-To', refs[refs.length - 1] as string]);
      headers.push(['References', refs.join(' ')]);
    }
    let html: string | undefined;
    if (plot.kind === 'newsletter') {
      const list = this.newsletterOf.get(msg.from);
      const host = from.email.split('@')[1] ?? 'example.com';
      headers.push(['List-Unsubscribe', `<mailto:unsubscribe@${host}?subject=unsubscribe>, <https://${host}/unsubscribe?u=${thread.seed.toString(16)}>`]);
      headers.push(['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click']);
      headers.push(['List-Id', `${list?.name ?? from.name} <${list?.list ?? host}>`]);
      headers.push(['Precedence', 'bulk']);
      html = textToHtml(text);
    } else if (thread.seed % 3 === 0) {
      html = textToHtml(text);
    }
    const attachments = step.attach ? [this.attachment(step.attach, ctx)] : [];
    return buildMessage({ headers, text, html, attachments, boundarySeed: `${thread.seed.toString(36)}_${msg.index}` });
  }
}

function jpegLike(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let s = seed >>> 0 || 7;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  out[0] = 0xff;
  out[1] = 0xd8;
  out[2] = 0xff;
  out[3] = 0xe0;
  out[size - 2] = 0xff;
  out[size - 1] = 0xd9;
  return out;
}

function slug(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '');
}

function firmNameFromDomain(domain: string): string {
  const label = domain.split('.')[0] ?? 'firm';
  return label.charAt(0).toUpperCase() + label.slice(1) + ' Ventures';
}

export function generateScenario(options: ScenarioOptions = {}): Scenario {
  const seed = options.seed ?? 1;
  const partnerCount = Math.max(1, options.partners ?? 3);
  const investorCount = Math.max(0, options.investors ?? 12);
  const perMailbox = Math.max(0, options.messages ?? 100);
  const investorFraction = Math.min(1, Math.max(0, options.investorFraction ?? 0.3));
  const domain = (options.domain ?? 'northwind.vc').toLowerCase();
  // Default range: the 12 months before the start of today (UTC), so a seed is stable for a day.
  const end = options.end ?? new Date(Math.floor(Date.now() / DAY) * DAY);
  const start = options.start ?? new Date(end.getTime() - 365 * DAY);
  if (!(end.getTime() > start.getTime())) throw new Error('generateScenario: end must be after start');
  const r = new Random(seedFrom('scenario', seed));
  const firmName = firmNameFromDomain(domain);
  const investors: ScenarioInvestor[] = [];
  const investorsById = new Map<number, ScenarioInvestor>();
  const newsletterOf = new Map<number, { name: string; list: string }>();
  const world = new World(domain, firmName, `${firmName.replace(/ Ventures$/, '')} Fund III`, investorsById, newsletterOf);
  const usedEmails = new Set<string>();
  const uniqueEmail = (email: string): string => {
    let candidate = email;
    let n = 2;
    while (usedEmails.has(candidate)) {
      const [local, host] = email.split('@') as [string, string];
      candidate = `${local}${n++}@${host}`;
    }
    usedEmails.add(candidate);
    return candidate;
  };
  const personName = (): string => `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}`;

  // Partners.
  const partnerNames = r.sample(FIRST_NAMES, partnerCount).map((first) => `${first} ${r.pick(LAST_NAMES)}`);
  while (partnerNames.length < partnerCount) partnerNames.push(personName());
  const partnerIdx: number[] = [];
  const partners = partnerNames.map((name) => {
    const email = uniqueEmail(`${slug(name.split(' ')[0] as string)}@${domain}`);
    partnerIdx.push(world.add({ name, email, investorId: 0 }));
    return { email, name };
  });

  // Investors: about a quarter angels on personal domains, the rest institutions.
  const contactIdx = new Map<number, number[]>();
  const listedIdx = new Map<number, number[]>();
  const angelCount = investorCount >= 4 ? Math.max(1, Math.round(investorCount * 0.25)) : 0;
  const combos: Array<[string, (typeof INSTITUTION_KINDS)[number]]> = [];
  for (const word of INSTITUTION_WORDS) for (const kind of INSTITUTION_KINDS) combos.push([word, kind]);
  const chosen = r.sample(combos, investorCount - angelCount);
  let subdomainDone = false;
  for (let id = 1; id <= investorCount; id++) {
    const isAngel = id > investorCount - angelCount;
    if (isAngel) {
      const name = personName();
      const [first, last] = [slug(name.split(' ')[0] as string), slug(name.split(' ').slice(1).join(''))];
      const email = uniqueEmail(`${first}.${last}${r.chance(0.4) ? r.int(1, 99) : ''}@${r.pick(PERSONAL_DOMAINS)}`);
      const idx = world.add({ name, email, investorId: id });
      contactIdx.set(id, [idx]);
      listedIdx.set(id, [idx]);
      const cell = r.pick([email, `${name} <${email}>`, ` ${email.toUpperCase()} `, `"${name}" <${email}>;`]);
      const inv: ScenarioInvestor = { id, name, firm: null, emailCell: cell, contacts: [email], domains: [] };
      investors.push(inv);
      investorsById.set(id, inv);
      continue;
    }
    const [word, kind] = chosen[id - 1] ?? [`Fund${id}`, INSTITUTION_KINDS[0] as (typeof INSTITUTION_KINDS)[number]];
    const firm = `${word} ${kind.suffix}`;
    const host = kind.tld === 'edu' ? `${slug(word)}.edu` : `${slug(word)}${kind.slug ? (r.chance(0.3) ? '-' : '') + kind.slug : ''}.${kind.tld}`;
    const style = r.int(0, 2);
    const contacts: number[] = [];
    const n = r.int(2, 4);
    for (let k = 0; k < n; k++) {
      const name = personName();
      const first = slug(name.split(' ')[0] as string);
      const last = slug(name.split(' ').slice(1).join(''));
      const local = style === 0 ? `${first}.${last}` : style === 1 ? `${first[0]}${last}` : first;
      contacts.push(world.add({ name, email: uniqueEmail(`${local}@${host}`), investorId: id }));
    }
    if (!subdomainDone && kind.tld === 'com') {
      // Their investor-relations desk writes from a sub-domain (mail.<domain>).
      contacts.push(world.add({ name: `${firm} Investor Relations`, email: uniqueEmail(`ir@mail.${host}`), investorId: id }));
      subdomainDone = true;
    }
    // Generic operations mailbox, never in the CRM cell.
    contacts.push(world.add({ name: `${firm} Operations`, email: uniqueEmail(`ops@${host}`), investorId: id }));
    const listed = contacts.slice(0, r.chance(0.5) ? 2 : 1);
    const fmt = (i: number, k: number): string => {
      const p = world.person(i);
      const variant = (k + style + id) % 4;
      return variant === 0 ? `"${p.name}" <${p.email}>` : variant === 1 ? p.email : variant === 2 ? `${p.name} <${p.email}>` : p.email.toUpperCase();
    };
    const separator = r.pick(['; ', ', ', ';', '\n', ' / ']);
    const emailCell = listed.map(fmt).join(separator) + (r.chance(0.15) ? ';' : '');
    contactIdx.set(id, contacts);
    listedIdx.set(id, listed);
    const inv: ScenarioInvestor = { id, name: firm, firm, emailCell, contacts: contacts.map((i) => world.person(i).email), domains: [host] };
    investors.push(inv);
    investorsById.set(id, inv);
  }
  const institutionIds = investors.filter((i) => i.firm !== null).map((i) => i.id);

  // Newsletter senders: some institutions publish, plus industry newsletters (not investors).
  const newsletterSenders: number[] = [];
  for (const id of r.sample(institutionIds, Math.min(4, institutionIds.length))) {
    const inv = investorsById.get(id) as ScenarioInvestor;
    const host = inv.domains[0] as string;
    const idx = world.add({ name: `${inv.firm} Perspectives`, email: uniqueEmail(`perspectives@${host}`), investorId: 0 });
    newsletterOf.set(idx, { name: `${inv.firm} Perspectives`, list: `perspectives.${host}` });
    newsletterSenders.push(idx);
  }
  const industrySenders = INDUSTRY_NEWSLETTERS.map((n) => {
    const idx = world.add({ name: n.name, email: uniqueEmail(n.email), investorId: 0 });
    newsletterOf.set(idx, { name: n.name, list: `list.${n.domain}` });
    return idx;
  });

  // Personal correspondents: friends and family on personal domains, and a few services.
  const personal: number[] = [];
  for (let k = 0; k < 10; k++) {
    const name = personName();
    const email = uniqueEmail(`${slug(name.split(' ')[0] as string)}${r.int(1, 999)}@${r.pick(PERSONAL_DOMAINS)}`);
    personal.push(world.add({ name, email, investorId: 0 }));
  }
  for (const s of PERSONAL_SERVICES) personal.push(world.add({ name: s.name, email: uniqueEmail(s.email), investorId: 0 }));

  // Threads until every mailbox holds about `perMailbox` messages.
  const copies = new Map<number, Array<{ msg: MsgRec; labels: string[]; date: number }>>(partnerIdx.map((i) => [i, []]));
  const target = perMailbox * partnerCount;
  let total = 0;
  const shares: Record<MessageKind, number> = {
    investor: institutionIds.length + angelCount > 0 ? investorFraction : 0,
    newsletter: (1 - investorFraction) * 0.3,
    internal: partnerCount > 1 ? (1 - investorFraction) * 0.3 : 0,
    personal: (1 - investorFraction) * (partnerCount > 1 ? 0.4 : 0.7),
  };
  const spent: Record<MessageKind, number> = { investor: 0, newsletter: 0, internal: 0, personal: 0 };
  const startMs = start.getTime();
  const span = Math.max(HOUR, end.getTime() - startMs - 2 * DAY);
  let threadNo = 0;
  const labelCache = new Map<string, string[]>();
  const shared = (labels: string[]): string[] => {
    const key = labels.join(',');
    let hit = labelCache.get(key);
    if (!hit) {
      hit = labels;
      labelCache.set(key, hit);
    }
    return hit;
  };

  while (total < target) {
    threadNo++;
    // The kind furthest below its share goes next, so the mix matches the fractions.
    let kind: MessageKind = 'personal';
    let best = -Infinity;
    for (const k of ['investor', 'newsletter', 'internal', 'personal'] as MessageKind[]) {
      if (shares[k] <= 0) continue;
      const deficit = shares[k] * (total + 1) - spent[k];
      if (deficit > best) {
        best = deficit;
        kind = k;
      }
    }
    const lead = partnerIdx.reduce((a, b) => ((copies.get(a)?.length ?? 0) <= (copies.get(b)?.length ?? 0) ? a : b));
    const others = partnerIdx.filter((p) => p !== lead);
    const roles: Partial<Record<Role, number>> = { P: lead };
    let plot: Plot;
    let investorId = 0;
    let investorId2 = 0;
    if (kind === 'investor') {
      plot = r.pick(INVESTOR_PLOTS);
      if (plot.twoInvestors && investors.length < 2) plot = INVESTOR_PLOTS[0] as Plot;
      investorId = r.int(1, investors.length);
      const contacts = contactIdx.get(investorId) as number[];
      const listed = listedIdx.get(investorId) as number[];
      // The sub-domain IR desk writes half of its institution's threads and joins most others.
      const desk = contacts.find((c) => world.person(c).email.startsWith('ir@mail.'));
      roles.L = desk !== undefined && r.chance(0.5) ? desk : r.chance(0.65) ? r.pick(listed) : r.pick(contacts);
      const colleagues = contacts.filter((c) => c !== roles.L);
      if (desk !== undefined && desk !== roles.L && r.chance(0.7)) roles.L2 = desk;
      else if (colleagues.length > 0 && r.chance(0.6)) roles.L2 = r.pick(colleagues);
      if (plot.twoInvestors) {
        do investorId2 = r.int(1, investors.length);
        while (investorId2 === investorId);
        roles.I2 = r.pick(listedIdx.get(investorId2) as number[]);
      }
      if (others.length > 0 && r.chance(0.45)) roles.P2 = r.pick(others);
    } else if (kind === 'internal') {
      plot = r.pick(INTERNAL_PLOTS);
      roles.P2 = r.pick(others);
    } else if (kind === 'personal') {
      plot = r.pick(PERSONAL_PLOTS);
      roles.X = r.pick(personal);
    } else {
      const fromInvestor = newsletterSenders.length > 0 && r.chance(0.6);
      plot = fromInvestor ? INVESTOR_NEWSLETTER : INDUSTRY_NEWSLETTER;
      roles.N = fromInvestor ? r.pick(newsletterSenders) : r.pick(industrySenders);
      if (fromInvestor) {
        const host = world.person(roles.N).email.split('@')[1];
        investorId = investors.find((i) => i.domains[0] === host)?.id ?? 0;
      }
    }
    const thread: ThreadRec = { seed: seedFrom(seed, 'thread', threadNo), plot, roles, investorId, investorId2, messages: [] };
    const steps = r.int(1, plot.steps.length);
    let date = startMs + Math.floor(r.next() * span);
    for (let s = 0; s < steps; s++) {
      const step = plot.steps[s] as (typeof plot.steps)[number];
      const resolve = (role: Role): number | undefined => roles[role] ?? (role === 'L2' ? roles.L : role === 'P2' ? undefined : undefined);
      const from = resolve(step.from);
      if (from === undefined) break;
      const uniq = (list: Role[] | undefined, exclude: number[]): number[] => {
        const out: number[] = [];
        for (const role of list ?? []) {
          const i = resolve(role);
          if (i !== undefined && !exclude.includes(i) && !out.includes(i)) out.push(i);
        }
        return out;
      };
      const to = uniq(step.to, [from]);
      if (to.length === 0) break;
      const cc = uniq(step.cc, [from, ...to]);
      if (s > 0) date += r.int(1, 40) * HOUR + r.int(0, 3599) * 1000;
      date = Math.min(date, end.getTime() - 1000);
      const participants = [from, ...to, ...cc];
      const ids = new Set<number>();
      for (const p of participants) {
        const inv = world.person(p).investorId;
        if (inv > 0) ids.add(inv);
      }
      // Number#toString(36) is slow for non-small integers; decimal keeps 100k ids cheap.
      const messageId = `<${thread.seed}.${s}.${date}@${world.messageIdHost(from)}>`;
      const truthKind: MessageKind = plot.kind;
      const truth: TruthEntry = { messageId, kind: truthKind, investorIds: truthKind === 'investor' ? [...ids].sort((a, b) => a - b) : [] };
      const msg: MsgRec = { thread, index: s, date, from, to, cc, truth };
      thread.messages.push(msg);
      for (const p of participants) {
        const box = copies.get(p);
        if (!box) continue;
        const sent = p === from;
        let labels: string[];
        if (sent) labels = ['SENT'];
        else {
          labels = [];
          const age = end.getTime() - date;
          const archived = age > 14 * DAY && r.chance(0.45);
          if (!archived) labels.push('INBOX');
          if (age < 2 * DAY || r.chance(0.06)) labels.push('UNREAD');
          if (plot.kind === 'investor' && r.chance(0.5)) labels.push('IMPORTANT');
          labels.push(plot.kind === 'newsletter' ? (plot === INVESTOR_NEWSLETTER ? 'CATEGORY_UPDATES' : 'CATEGORY_PROMOTIONS') : 'CATEGORY_PERSONAL');
          if (plot.kind === 'newsletter' && r.chance(0.05)) labels = ['TRASH', ...labels.filter((l) => l !== 'INBOX')];
        }
        box.push({ msg, labels: shared(labels), date: sent ? date : date + 1000 * r.int(1, 20) });
        total++;
        spent[truthKind]++;
      }
    }
  }

  const mailboxes: Record<string, GeneratedMessage[]> = {};
  const truth: Record<string, TruthEntry[]> = {};
  for (const p of partnerIdx) {
    const box = (copies.get(p) ?? []).sort((a, b) => a.date - b.date);
    const email = world.person(p).email;
    mailboxes[email] = box.map((c) => new GeneratedMessage(world, c.msg, p, c.labels, c.date));
    truth[email] = box.map((c) => c.msg.truth);
  }
  return {
    domain,
    firmName,
    partners,
    investors,
    mailboxes,
    truth,
    options: { seed, partners: partnerCount, investors: investorCount, messages: perMailbox, investorFraction, domain, start, end },
  };
}
