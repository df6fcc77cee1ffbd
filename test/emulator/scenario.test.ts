import { describe, expect, it } from 'vitest';
import { generateScenario, SCENARIOS, type Scenario } from '../../src/emulator/index.js';
import { computeMeta, StoredMessage } from '../../src/emulator/message-store.js';
import { senderAuthentication } from '../../src/mail/senderAuth.js';

const RANGE = { start: new Date(Date.UTC(2025, 10, 1)), end: new Date(Date.UTC(2026, 10, 1)) };
const small = generateScenario({ ...SCENARIOS.small, ...RANGE });

function headerBlock(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
}
function header(raw: Buffer, name: string): string | undefined {
  const m = new RegExp(`^${name}: (.*)$`, 'mi').exec(headerBlock(raw));
  return m?.[1];
}
const addressesIn = (value: string | undefined): string[] => (value?.match(/[^\s<>,;"]+@[^\s<>,;"]+/g) ?? []).map((a) => a.toLowerCase());

function all(s: Scenario) {
  return Object.entries(s.mailboxes).flatMap(([owner, box]) => box.map((m, i) => ({ owner, m, truth: s.truth[owner]![i]! })));
}

describe('generateScenario', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateScenario({ ...SCENARIOS.small, ...RANGE });
    expect(again.investors).toEqual(small.investors);
    expect(again.truth).toEqual(small.truth);
    const a = all(small).slice(0, 40).map((x) => x.m.raw.toString('base64'));
    const b = all(again).slice(0, 40).map((x) => x.m.raw.toString('base64'));
    expect(b).toEqual(a);
    const other = generateScenario({ ...SCENARIOS.small, ...RANGE, seed: 8 });
    expect(other.truth).not.toEqual(small.truth);
  });

  it('builds the small firm: 3 partners at the domain, 12 investors, ~100 messages per mailbox, in range', () => {
    expect(small.domain).toBe('northwind.vc');
    expect(small.partners).toHaveLength(3);
    for (const p of small.partners) expect(p.email.endsWith('@northwind.vc')).toBe(true);
    expect(small.investors).toHaveLength(12);
    for (const p of small.partners) {
      const box = small.mailboxes[p.email]!;
      expect(box.length).toBeGreaterThanOrEqual(100);
      expect(box.length).toBeLessThanOrEqual(104);
      expect(small.truth[p.email]).toHaveLength(box.length);
      for (const m of box) {
        expect(m.internalDate).toBeGreaterThanOrEqual(RANGE.start.getTime());
        expect(m.internalDate).toBeLessThan(RANGE.end.getTime() + 60_000);
      }
    }
    const total = all(small).length;
    const investorShare = all(small).filter((x) => x.truth.kind === 'investor').length / total;
    expect(investorShare).toBeGreaterThan(0.3);
    expect(investorShare).toBeLessThan(0.4);
    for (const kind of ['newsletter', 'internal', 'personal']) expect(all(small).some((x) => x.truth.kind === kind)).toBe(true);
  });

  it('investors: institutions with more contacts than the CRM cell lists, angels listed exactly, one sub-domain desk', () => {
    const institutions = small.investors.filter((i) => i.firm !== null);
    const angels = small.investors.filter((i) => i.firm === null);
    expect(angels.length).toBeGreaterThanOrEqual(2);
    for (const angel of angels) {
      expect(angel.domains).toEqual([]);
      expect(angel.contacts).toHaveLength(1);
      expect(angel.emailCell.toLowerCase()).toContain(angel.contacts[0]);
      expect(['gmail.com', 'yahoo.com', 'icloud.com', 'outlook.com', 'hey.com', 'fastmail.com', 'proton.me']).toContain(angel.contacts[0]!.split('@')[1]);
    }
    for (const inst of institutions) {
      expect(inst.domains).toHaveLength(1);
      const listed = addressesIn(inst.emailCell);
      expect(listed.length).toBeGreaterThanOrEqual(1);
      expect(inst.contacts.length).toBeGreaterThan(listed.length);
      for (const c of inst.contacts) expect(c.endsWith('@' + inst.domains[0]) || c.endsWith('.' + inst.domains[0])).toBe(true);
    }
    expect(institutions.filter((i) => i.contacts.some((c) => c.startsWith('ir@mail.')))).toHaveLength(1);
    // Messy cells: names, upper case or separators other than a single comma appear.
    expect(small.investors.some((i) => /[A-Z]{3,}@|<|;/.test(i.emailCell))).toBe(true);
  });

  it('truth.investorIds are exactly the investors whose people are in From/To/Cc', () => {
    const owner = new Map<string, number>();
    for (const inv of small.investors) for (const c of inv.contacts) owner.set(c, inv.id);
    for (const { m, truth } of all(small)) {
      const people = [header(m.raw, 'From'), header(m.raw, 'To'), header(m.raw, 'Cc')].flatMap(addressesIn);
      const ids = [...new Set(people.map((a) => owner.get(a)).filter((x): x is number => x !== undefined))].sort((a, b) => a - b);
      expect(header(m.raw, 'Message-ID')).toBe(truth.messageId);
      if (truth.kind === 'investor') {
        expect(truth.investorIds).toEqual(ids);
        expect(ids.length).toBeGreaterThan(0);
      } else {
        expect(truth.investorIds).toEqual([]);
        if (truth.kind === 'internal') expect(people.every((a) => a.endsWith('@northwind.vc'))).toBe(true);
        if (truth.kind === 'personal') expect(ids).toEqual([]);
      }
    }
    expect(all(small).some((x) => x.truth.investorIds.length === 2)).toBe(true);
  });

  it('threads cross mailboxes: one Message-ID per logical message, replies carry In-Reply-To and References', () => {
    const copies = new Map<string, Array<{ owner: string; raw: Buffer }>>();
    for (const { owner, m, truth } of all(small)) {
      const list = copies.get(truth.messageId) ?? [];
      list.push({ owner, raw: m.raw });
      copies.set(truth.messageId, list);
    }
    const shared = [...copies.values()].filter((c) => c.length > 1);
    expect(shared.length).toBeGreaterThan(10);
    for (const group of shared) expect(new Set(group.map((g) => g.owner)).size).toBe(group.length);
    let replies = 0;
    for (const group of copies.values()) {
      const raw = group[0]!.raw;
      const inReplyTo = header(raw, 'In-Reply-To');
      if (!inReplyTo) continue;
      replies++;
      expect(header(raw, 'Subject')).toMatch(/^Re: /);
      expect(header(raw, 'References')!.split(' ')).toContain(inReplyTo);
      expect(copies.has(inReplyTo)).toBe(true);
    }
    expect(replies).toBeGreaterThan(10);
  });

  it('attachments are PDF-like and identical across copies and across messages sharing a document', () => {
    const pdfs = new Map<string, Set<string>>();
    for (const { m, truth } of all(small)) {
      const text = m.raw.toString('latin1');
      const re = /filename="([^"]+\.pdf)"\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+)/g;
      for (let hit = re.exec(text); hit; hit = re.exec(text)) {
        const bytes = Buffer.from(hit[2]!, 'base64');
        expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
        const key = bytes.toString('base64');
        const set = pdfs.get(key) ?? new Set<string>();
        set.add(truth.messageId);
        pdfs.set(key, set);
      }
    }
    expect(pdfs.size).toBeGreaterThan(2);
    expect([...pdfs.values()].some((messages) => messages.size > 1)).toBe(true);
  });

  it('newsletters come with List-Unsubscribe, some from investor domains', () => {
    const domains = new Set(small.investors.flatMap((i) => i.domains));
    const letters = all(small).filter((x) => x.truth.kind === 'newsletter');
    expect(letters.length).toBeGreaterThan(5);
    for (const { m } of letters) {
      expect(header(m.raw, 'List-Unsubscribe')).toMatch(/<mailto:.*>, <https:.*>/);
      expect(header(m.raw, 'Precedence')).toBe('bulk');
    }
    expect(letters.some(({ m }) => domains.has(addressesIn(header(m.raw, 'From'))[0]!.split('@')[1]!))).toBe(true);
  });

  it("received copies carry Gmail's Authentication-Results pass for the From domain; the sender's own copy none", () => {
    let received = 0;
    for (const { owner, m } of all(small)) {
      const from = addressesIn(header(m.raw, 'From'))[0];
      const results = header(m.raw, 'Authentication-Results');
      if (from === owner.toLowerCase()) {
        expect(results).toBeUndefined();
        continue;
      }
      received++;
      expect(senderAuthentication(results === undefined ? [] : [results], from)).toBe('dkim');
    }
    expect(received).toBeGreaterThan(100);
  });

  it('search facts taken from the records agree with the built messages (so searches need no bytes)', () => {
    const pick = (meta: ReturnType<typeof computeMeta>) => ({
      subject: meta.subject, from: meta.from, to: meta.to, cc: meta.cc, deliveredTo: meta.deliveredTo,
      rfcMessageId: meta.rfcMessageId, listId: meta.listId, hasAttachment: meta.hasAttachment, filenames: meta.filenames,
    });
    const entries = all(small);
    for (const { m } of entries) {
      const fromHints = new StoredMessage('1', '1', m.internalDate, m.labelIds, 1, m).meta;
      expect(pick(fromHints)).toEqual(pick(computeMeta(m.raw)));
    }
    expect(entries.length).toBeGreaterThanOrEqual(300);
  });

  it('medium preset: 5 partners, 50 investors, about 5,000 messages in all', () => {
    const medium = generateScenario({ ...SCENARIOS.medium, ...RANGE });
    expect(medium.partners).toHaveLength(5);
    expect(medium.investors).toHaveLength(50);
    const total = Object.values(medium.mailboxes).reduce((n, box) => n + box.length, 0);
    expect(total).toBeGreaterThanOrEqual(5000);
    expect(total).toBeLessThan(5020);
  });

  it('refuses an empty date range', () => {
    expect(() => generateScenario({ start: new Date(Date.UTC(2026, 1, 1)), end: new Date(Date.UTC(2026, 0, 1)) })).toThrow(/end must be after start/);
  });
});
