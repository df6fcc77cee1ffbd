import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, generateScenario, SCENARIOS, type Emulator, type Scenario } from '../../src/emulator/index.js';
import { gmailFor } from './helpers.js';

interface Row {
  id: string;
  from: string[];
  to: string[];
  cc: string[];
  subject: string;
  messageId: string;
  listId: string;
  internalDate: number;
  labels: string[];
  hasAttachment: boolean;
}

let emu: Emulator;
let scenario: Scenario;
let user: string;
let rows: Row[];

const addresses = (value: string | undefined): string[] => (value?.match(/[^\s<>,;"]+@[^\s<>,;"]+/g) ?? []).map((a) => a.toLowerCase());
const header = (headers: Array<{ name?: string | null; value?: string | null }>, name: string) => headers.find((h) => h.name?.toLowerCase() === name)?.value ?? undefined;

beforeAll(async () => {
  scenario = generateScenario({ ...SCENARIOS.small, end: new Date(Date.UTC(2026, 10, 1)) });
  emu = await startEmulator({ scenario, now: () => Date.UTC(2026, 10, 1) });
  // The partner with the most mail from the sub-domain IR desk, so `from:<domain>` is exercised.
  const deskMail = (email: string) => scenario.mailboxes[email]!.filter((m) => /^From: .*@mail\./m.test(m.raw.toString('latin1').split('\r\n\r\n')[0]!)).length;
  user = scenario.partners.map((p) => p.email).sort((a, b) => deskMail(b) - deskMail(a))[0]!;
  const client = gmailFor(emu, user);
  rows = [];
  for (const id of emu.messageIds(user)) {
    const m = (await client.users.messages.get({ userId: 'me', id, format: 'full' })).data;
    const h = m.payload?.headers ?? [];
    rows.push({
      id,
      from: addresses(header(h, 'from')),
      to: addresses(header(h, 'to')),
      cc: addresses(header(h, 'cc')),
      subject: header(h, 'subject') ?? '',
      messageId: header(h, 'message-id') ?? '',
      listId: header(h, 'list-id') ?? '',
      internalDate: Number(m.internalDate),
      labels: m.labelIds ?? [],
      hasAttachment: (m.payload?.parts ?? []).some((p) => Boolean(p.body?.attachmentId)),
    });
  }
});
afterAll(async () => emu?.stop());

let cached: ReturnType<typeof gmailFor> | undefined;

async function search(q: string, includeSpamTrash = false): Promise<string[]> {
  const client = (cached ??= gmailFor(emu, user));
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.users.messages.list({ userId: 'me', q, includeSpamTrash, maxResults: 500, pageToken });
    ids.push(...(page.data.messages ?? []).map((m) => m.id!));
    pageToken = page.data.nextPageToken ?? undefined;
  } while (pageToken);
  return ids.sort();
}

const visible = (r: Row) => !r.labels.includes('TRASH') && !r.labels.includes('SPAM');
const expected = (test: (r: Row) => boolean, all = false) => rows.filter((r) => (all || visible(r)) && test(r)).map((r) => r.id).sort();
const domainOf = (a: string) => a.split('@')[1] ?? '';
const inDomain = (a: string, d: string) => domainOf(a) === d || domainOf(a).endsWith('.' + d);

describe('search q on generated mail', () => {
  it('the mailbox has enough variety for the checks', () => {
    expect(rows.length).toBeGreaterThanOrEqual(95);
    expect(rows.some((r) => r.labels.includes('SENT'))).toBe(true);
    expect(rows.some((r) => r.hasAttachment)).toBe(true);
    expect(rows.some((r) => r.listId)).toBe(true);
  });

  it('from: bare domain (sub-domains included), full address, local part', async () => {
    const investor = scenario.investors.find((i) => i.contacts.some((c) => c.startsWith('ir@mail.')))!;
    const domain = investor.domains[0]!;
    const want = expected((r) => r.from.some((a) => inDomain(a, domain)));
    expect(rows.some((r) => r.from.some((a) => a.startsWith('ir@mail.')))).toBe(true);
    expect(await search(`from:${domain}`)).toEqual(want);
    const someone = rows.find((r) => visible(r) && !r.labels.includes('SENT'))!.from[0]!;
    expect(await search(`from:${someone}`)).toEqual(expected((r) => r.from.includes(someone)));
    expect(await search(`from:${someone.toUpperCase()}`)).toEqual(expected((r) => r.from.includes(someone)));
    const local = user.split('@')[0]!;
    expect(await search(`from:${local}`)).toEqual(expected((r) => r.from.some((a) => a.split('@')[0] === local)));
    expect(await search(`from:${local}@`)).toEqual(expected((r) => r.from.some((a) => a.split('@')[0] === local)));
  });

  it('to: covers To, Cc and Bcc; cc: only Cc', async () => {
    const partner2 = scenario.partners[1]!.email;
    expect(await search(`to:${partner2}`)).toEqual(expected((r) => r.to.includes(partner2) || r.cc.includes(partner2)));
    expect(await search(`cc:${partner2}`)).toEqual(expected((r) => r.cc.includes(partner2)));
    expect((await search(`cc:${partner2}`)).length).toBeGreaterThan(0);
  });

  it('OR, braces, parentheses, negation', async () => {
    const [d1, d2] = scenario.investors.filter((i) => i.domains.length > 0).map((i) => i.domains[0]!);
    const union = expected((r) => r.from.some((a) => inDomain(a, d1!) || inDomain(a, d2!)) );
    expect(await search(`from:${d1} OR from:${d2}`)).toEqual(union);
    expect(await search(`{from:${d1} from:${d2}}`)).toEqual(union);
    expect(await search(`from:(${d1} OR ${d2})`)).toEqual(union);
    const partnerDomain = scenario.domain;
    expect(await search(`-from:${partnerDomain}`)).toEqual(expected((r) => !r.from.some((a) => inDomain(a, partnerDomain))));
    expect(await search(`(from:${d1} OR from:${d2}) -in:inbox`)).toEqual(expected((r) => r.from.some((a) => inDomain(a, d1!) || inDomain(a, d2!)) && !r.labels.includes('INBOX')));
  });

  it('a long OR-list of addresses and domains (as a sync sends) equals the union of its terms', async () => {
    const terms = scenario.investors.flatMap((i) => (i.domains.length > 0 ? i.domains : i.contacts)).slice(0, 12);
    const union = new Set<string>();
    for (const t of terms) for (const field of ['from', 'to', 'cc']) for (const id of await search(`${field}:${t}`)) union.add(id);
    const q = terms.map((t) => `from:${t} OR to:${t} OR cc:${t}`).join(' OR ');
    const combined = await search(q);
    expect(combined).toEqual([...union].sort());
    expect(combined.length).toBeGreaterThan(0);
    expect(await search(`(${q}) -in:inbox`)).toEqual(expected((r) => combined.includes(r.id) && !r.labels.includes('INBOX')));
  });

  it('after/before with dates (midnight Los Angeles) and epoch seconds; newer_than/older_than', async () => {
    const from = Date.UTC(2026, 5, 1, 7); // 2026/06/01 00:00 PDT
    const to = Date.UTC(2026, 7, 1, 7);
    const want = expected((r) => r.internalDate >= from && r.internalDate < to);
    expect(want.length).toBeGreaterThan(0);
    expect(await search('after:2026/06/01 before:2026/08/01')).toEqual(want);
    expect(await search('after:2026-06-01 before:2026-08-01')).toEqual(want);
    expect(await search(`after:${from / 1000} before:${to / 1000}`)).toEqual(want);
    const now = Date.UTC(2026, 10, 1);
    expect(await search('newer_than:30d')).toEqual(expected((r) => r.internalDate >= now - 30 * 86_400_000));
    expect(await search('older_than:6m')).toEqual(expected((r) => r.internalDate < now - 180 * 86_400_000));
  });

  it('in:, is:, label:, category:, has:attachment, list:, rfc822msgid:, subject:, quoted text', async () => {
    expect(await search('in:sent')).toEqual(expected((r) => r.labels.includes('SENT')));
    expect(await search('label:inbox is:unread')).toEqual(expected((r) => r.labels.includes('INBOX') && r.labels.includes('UNREAD')));
    expect(await search('category:updates')).toEqual(expected((r) => r.labels.includes('CATEGORY_UPDATES')));
    expect(await search('has:attachment')).toEqual(expected((r) => r.hasAttachment));
    expect(await search('list:perspectives')).toEqual(expected((r) => r.listId.toLowerCase().includes('perspectives')));
    expect(await search('in:anywhere', false)).toEqual(expected(() => true, true));
    const target = rows.find((r) => r.messageId && visible(r))!;
    expect(await search(`rfc822msgid:${target.messageId}`)).toEqual([target.id]);
    expect(await search(`rfc822msgid:${target.messageId.slice(1, -1)}`)).toEqual([target.id]);
    expect(await search('subject:"LP letter"')).toEqual(expected((r) => r.subject.toLowerCase().includes('lp letter')));
    const phrase = await search('"capital call notice"');
    for (const id of expected((r) => r.subject.toLowerCase().includes('capital call notice'))) expect(phrase).toContain(id);
  });

  it('an unknown operator is text, never a server error', async () => {
    expect(await search('frobnicate:yes')).toEqual([]);
    expect(await search('((( from:')).toBeInstanceOf(Array);
    expect(await search('"unterminated quote')).toEqual([]);
  });
});
