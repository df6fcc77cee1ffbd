/**
 * Issue 16 end to end: a small generated firm synced through the emulator into a real SQLite CRM,
 * then `investors`, the activity view, `search`, `investor` and `investors suggestions` checked
 * against figures this file computes on its own from the scenario's ground truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS, type Scenario } from '../../src/emulator/index.js';
import { openDatabase, type Db } from '../../src/db/open.js';
import { PROJECT_ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startFirm, type Firm } from '../sync/firm.js';

const DAY = 86_400_000;
const dir = tempDir('crm-mail-relationships-');
let firm: Firm;
/** An investor's domain under CRM_GMAIL_EXCLUDE: none of its mail may be stored, indexed or counted. */
let excludedDomain: string;

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 31 } });
  excludedDomain = firm.scenario.investors.filter((investor) => investor.domains.length > 0).at(-1)!.domains[0]!;
  firm.env.CRM_GMAIL_EXCLUDE = excludedDomain;
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
  const sync = await runCli(['sync', '--no-propose'], { env: firm.env, timeoutMs: 120_000 });
  expect(sync.code, sync.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await firm?.stop();
});

/** A second CRM file with the same content, for tests that change it. */
function copyOfFirm(name: string): { env: Record<string, string>; open: () => Db } {
  const path = join(dir, `${name}.db`);
  const db = firm.open();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  copyFileSync(firm.dbPath, path);
  return { env: { ...firm.env, CRM_DB_PATH: path }, open: () => openDatabase(path) };
}

// ---------------------------------------------------------------------------------------------
// Ground truth, from the scenario alone

interface TruthCopy {
  messageId: string;
  thread: string;
  investorIds: number[];
  kind: string;
  ms: number;
  direction: 'sent' | 'received';
  from: string;
  /** From, To and Cc addresses. */
  people: string[];
}

function addressOf(header: string): string {
  return (header.match(/<([^>]+)>/)?.[1] ?? header).trim().toLowerCase();
}

/** Every mailbox copy crm-mail should hold, with what the scenario says about it. */
function truthCopies(scenario: Scenario): TruthCopy[] {
  const copies: TruthCopy[] = [];
  for (const partner of scenario.partners) {
    scenario.mailboxes[partner.email]!.forEach((message, index) => {
      if (message.labelIds.includes('TRASH') || message.labelIds.includes('SPAM')) return;
      const truth = scenario.truth[partner.email]![index]!;
      const hints = message.searchHints;
      const everyone = `${hints.from} ${hints.to} ${hints.cc}`.toLowerCase().match(/[\w.+-]+@[\w.-]+/g) ?? [];
      if (everyone.some((address) => address.endsWith('@' + excludedDomain) || address.endsWith('.' + excludedDomain))) return;
      const from = addressOf(hints.from);
      const thread = message.threadHints;
      copies.push({
        messageId: truth.messageId,
        thread: thread.parents[0] ?? thread.messageId,
        investorIds: truth.investorIds,
        kind: truth.kind,
        ms: message.internalDate,
        direction: from.endsWith('@' + scenario.domain) ? 'sent' : 'received',
        from,
        people: everyone,
      });
    });
  }
  return copies;
}

interface ExpectedActivity {
  lastIn?: { ms: number; from: string };
  lastOut?: { ms: number; from: string };
  lastTwoWay?: number;
  threads90d: number;
  strongest?: { address: string; threads: number };
  runnerUp?: { address: string; threads: number };
}

/** Item 1's figures, computed the straightforward way: investor mail only (no newsletters, no internal). */
function expectedActivity(copies: TruthCopy[], now: number): Map<number, ExpectedActivity> {
  const counted = copies.filter((copy) => copy.kind === 'investor');
  const result = new Map<number, ExpectedActivity>();
  const investors = new Set(counted.flatMap((copy) => copy.investorIds));
  for (const investor of investors) {
    const mine = counted.filter((copy) => copy.investorIds.includes(investor));
    const latest = (list: TruthCopy[]): TruthCopy | undefined => list.reduce<TruthCopy | undefined>((best, copy) => (!best || copy.ms > best.ms ? copy : best), undefined);
    const lastIn = latest(mine.filter((copy) => copy.direction === 'received'));
    const lastOut = latest(mine.filter((copy) => copy.direction === 'sent'));
    const threads = new Map<string, TruthCopy[]>();
    for (const copy of mine) threads.set(copy.thread, [...(threads.get(copy.thread) ?? []), copy]);
    let lastTwoWay: number | undefined;
    const partners = new Map<string, { threads: number; wrote: number }>();
    for (const list of threads.values()) {
      const inbound = latest(list.filter((copy) => copy.direction === 'received'));
      const outbound = latest(list.filter((copy) => copy.direction === 'sent'));
      if (!inbound || !outbound) continue;
      const exchange = Math.min(inbound.ms, outbound.ms);
      lastTwoWay = Math.max(lastTwoWay ?? 0, exchange);
      if (exchange < now - 365 * DAY) continue;
      const writers = new Map<string, number>();
      for (const copy of list) if (copy.direction === 'sent') writers.set(copy.from, Math.max(writers.get(copy.from) ?? 0, copy.ms));
      for (const [address, wrote] of writers) {
        const known = partners.get(address) ?? { threads: 0, wrote: 0 };
        partners.set(address, { threads: known.threads + 1, wrote: Math.max(known.wrote, wrote) });
      }
    }
    const ranked = [...partners].sort((a, b) => b[1].threads - a[1].threads || b[1].wrote - a[1].wrote || a[0].localeCompare(b[0]));
    result.set(investor, {
      lastIn: lastIn && { ms: lastIn.ms, from: lastIn.from },
      lastOut: lastOut && { ms: lastOut.ms, from: lastOut.from },
      lastTwoWay,
      threads90d: [...threads.values()].filter((list) => list.some((copy) => copy.ms >= now - 90 * DAY)).length,
      strongest: ranked[0] && { address: ranked[0][0], threads: ranked[0][1].threads },
      runnerUp: ranked[1] && { address: ranked[1][0], threads: ranked[1][1].threads },
    });
  }
  return result;
}

interface ActivityJson {
  id: number;
  name: string;
  lastInbound: { date: string; from: { address: string; name: string | null } } | null;
  lastOutbound: { date: string; partner: { address: string; name: string | null } } | null;
  lastTwoWay: string | null;
  daysSinceTwoWay: number | null;
  threads90d: number;
  twoWayThreads12m: number;
  strongestPartner: { address: string; name: string | null; twoWayThreads12m: number } | null;
  runnerUpPartner: { address: string; name: string | null; twoWayThreads12m: number } | null;
  pendingProposals: number;
}

/** The command's rows in the ground truth's shape. */
function asExpected(row: ActivityJson): ExpectedActivity {
  return {
    lastIn: row.lastInbound ? { ms: Date.parse(row.lastInbound.date), from: row.lastInbound.from.address } : undefined,
    lastOut: row.lastOutbound ? { ms: Date.parse(row.lastOutbound.date), from: row.lastOutbound.partner.address } : undefined,
    lastTwoWay: row.lastTwoWay === null ? undefined : Date.parse(row.lastTwoWay),
    threads90d: row.threads90d,
    strongest: row.strongestPartner ? { address: row.strongestPartner.address, threads: row.strongestPartner.twoWayThreads12m } : undefined,
    runnerUp: row.runnerUpPartner ? { address: row.runnerUpPartner.address, threads: row.runnerUpPartner.twoWayThreads12m } : undefined,
  };
}

async function investorsJson(args: string[] = [], env = firm.env): Promise<ActivityJson[]> {
  const result = await runCli(['--json', 'investors', ...args], { env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ActivityJson[];
}

describe('crm-mail investors', () => {
  it('matches the figures computed from the scenario, stalest first', async () => {
    const before = Date.now();
    const rows = await investorsJson();
    const after = Date.now();
    const expected = expectedActivity(truthCopies(firm.scenario), before);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(Object.fromEntries(rows.map((row) => [row.id, asExpected(row)]))).toEqual(Object.fromEntries(expected));
    // Some figures are worth checking: real two-way threads, and more than one partner somewhere.
    expect(rows.filter((row) => row.lastTwoWay !== null).length).toBeGreaterThanOrEqual(3);
    expect(rows.some((row) => row.runnerUpPartner !== null)).toBe(true);
    for (const row of rows) {
      if (row.lastTwoWay === null) continue;
      const ms = Date.parse(row.lastTwoWay);
      expect(row.daysSinceTwoWay).toBeGreaterThanOrEqual(Math.floor((before - ms) / DAY));
      expect(row.daysSinceTwoWay).toBeLessThanOrEqual(Math.floor((after - ms) / DAY));
    }
    // Stalest first: never two-way, then the oldest exchange.
    const order = rows.map((row) => (row.lastTwoWay === null ? -Infinity : Date.parse(row.lastTwoWay)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('never counts bulk mail or internal-only mail as a touch', async () => {
    // The firm's investors publish newsletters, matched by domain and stored as bulk; counted, some
    // would be a later "last inbound" than the real one.
    const rows = await investorsJson();
    const db = firm.open();
    const latestBulk = db
      .prepare('SELECT m.investor_id AS id, max(e.internal_date_ms) AS ms FROM emails e JOIN email_investor_matches m ON m.email_id = e.id WHERE e.is_bulk = 1 GROUP BY m.investor_id')
      .all() as Array<{ id: number; ms: number }>;
    db.close();
    const hidden = latestBulk.filter((bulk) => {
      const row = rows.find((candidate) => candidate.id === bulk.id);
      return !row || !row.lastInbound || Date.parse(row.lastInbound.date) < bulk.ms;
    });
    expect(hidden.length).toBeGreaterThan(0);

    // Fresh bulk and internal copies matched to an investor, dated now, change nothing.
    const copy = copyOfFirm('bulk-internal');
    const rowsBefore = await investorsJson([], copy.env);
    const target = rowsBefore[0]!;
    const writer = copy.open();
    const account = writer.prepare('SELECT id, email FROM email_accounts ORDER BY id LIMIT 1').get() as { id: number; email: string };
    const insert = writer.prepare(
      `INSERT INTO emails (account_id, gmail_id, message_key, subject, from_address, to_json, internal_date_ms, direction, is_bulk, body_text)
       VALUES (?, ?, ?, 'planted', ?, '[]', ?, ?, ?, 'planted')`,
    );
    const match = writer.prepare("INSERT INTO email_investor_matches (email_id, investor_id, strategy, matched_address) VALUES (?, ?, 'domain', 'x@example.com')");
    const now = Date.now();
    match.run(Number(insert.run(account.id, 'planted-bulk', '<planted-bulk>', 'news@example.com', now, 'received', 1).lastInsertRowid), target.id);
    match.run(Number(insert.run(account.id, 'planted-internal', '<planted-internal>', account.email, now, 'internal', 0).lastInsertRowid), target.id);
    writer.close();
    const rowsAfter = await investorsJson([], copy.env);
    expect(rowsAfter.map(asExpected)).toEqual(rowsBefore.map(asExpected));
  });

  it('--stale keeps the investors without a two-way exchange in that long; --partner those a partner has mail with', async () => {
    const rows = await investorsJson();
    const days = rows.map((row) => row.daysSinceTwoWay).filter((value): value is number => value !== null).sort((a, b) => a - b);
    const threshold = days[Math.floor(days.length / 2)]!;
    const stale = await investorsJson(['--stale', String(threshold)]);
    expect(stale.map((row) => row.id)).toEqual(rows.filter((row) => row.daysSinceTwoWay === null || row.daysSinceTwoWay >= threshold).map((row) => row.id));
    expect(stale.length).toBeLessThan(rows.length);

    const partner = firm.scenario.partners[0]!.email;
    const copies = truthCopies(firm.scenario).filter((copy) => copy.kind === 'investor');
    const boxes = new Map(firm.scenario.partners.map((p) => [p.email, new Set<string>()]));
    for (const p of firm.scenario.partners) {
      firm.scenario.mailboxes[p.email]!.forEach((message, index) => {
        if (!message.labelIds.includes('TRASH') && !message.labelIds.includes('SPAM')) boxes.get(p.email)!.add(firm.scenario.truth[p.email]![index]!.messageId);
      });
    }
    const partnerInvestors = new Set(copies.filter((copy) => boxes.get(partner)!.has(copy.messageId) || copy.from === partner.toLowerCase()).flatMap((copy) => copy.investorIds));
    const mine = await investorsJson(['--partner', partner.toUpperCase()]);
    expect(new Set(mine.map((row) => row.id))).toEqual(partnerInvestors);

    const unknown = await runCli(['investors', '--partner', 'nobody@example.com'], { env: firm.env });
    expect(unknown.code).toBe(7);
    const bad = await runCli(['investors', '--stale', 'soon'], { env: firm.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--stale must be a whole number');
  });

  it('prints one plain line per investor when not on a terminal, and counts pending proposals', async () => {
    const copy = copyOfFirm('pending');
    const rows = await investorsJson([], copy.env);
    const target = rows[rows.length - 1]!;
    const writer = copy.open();
    writer
      .prepare("INSERT INTO email_activity_proposals (message_key, investor_id, drafted_note, drafter, status) VALUES ('<p1>', ?, 'n', 'rule', 'pending'), ('<p2>', ?, 'n', 'rule', 'dismissed')")
      .run(target.id, target.id);
    writer.close();
    const after = await investorsJson([], copy.env);
    expect(after.find((row) => row.id === target.id)!.pendingProposals).toBe(1);
    const plain = await runCli(['investors'], { env: copy.env });
    expect(plain.code).toBe(0);
    const lines = plain.stdout.trim().split('\n');
    expect(lines).toHaveLength(rows.length + 1);
    expect(lines.find((line) => line.startsWith(`#${target.id} `))).toContain('1 pending proposal');
  });
});

describe('crontab.example', () => {
  it('has a weekly going-cold digest that runs as written and logs what `investors --stale 60` prints', async () => {
    const text = readFileSync(join(PROJECT_ROOT, 'crontab.example'), 'utf8');
    const jobs = text.split('\n').filter((line) => /^[^#\s]/.test(line) && !line.includes('='));
    const digest = jobs.filter((line) => / investors /.test(line));
    expect(digest).toHaveLength(1);
    const fields = digest[0]!.split(/\s+/);
    const [minute, hour, dayOfMonth, month, dayOfWeek] = fields;
    expect([minute, hour].every((field) => /^\d+$/.test(field!))).toBe(true);
    expect([dayOfMonth, month]).toEqual(['*', '*']);
    expect(dayOfWeek).toMatch(/^[0-7]$/); // once a week
    const command = fields.slice(5).join(' ');
    const [invocation, redirect] = command.split(' >> ');
    expect(redirect).toMatch(/^\/var\/log\/crm-mail\/[\w-]+\.log 2>&1$/);
    const args = invocation!.split(' ');
    expect(args[0]).toBe('crm-mail');
    const envFile = args.indexOf('--env-file');
    expect(envFile).toBe(1);
    const rest = args.slice(envFile + 2);
    expect(rest).toEqual(['investors', '--stale', '60']);
    const ran = await runCli(rest, { env: firm.env });
    expect(ran.code, ran.stderr).toBe(0);
    const rows = await investorsJson(['--stale', '60']);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(ran.stdout).toContain(`#${row.id} `);
  });
});

describe('the email_investor_activity view', () => {
  it('returns the same figures as the command', async () => {
    const rows = await investorsJson();
    const db = firm.open();
    const view = db.prepare('SELECT * FROM email_investor_activity').all() as Array<Record<string, unknown>>;
    db.close();
    expect(view).toHaveLength(rows.length);
    const byId = new Map(view.map((row) => [row.investor_id as number, row]));
    for (const row of rows) {
      const v = byId.get(row.id)!;
      expect({
        id: v.investor_id,
        lastInbound: v.last_inbound_at,
        lastInboundFrom: v.last_inbound_from_address,
        lastOutbound: v.last_outbound_at,
        lastOutboundPartner: v.last_outbound_partner_address,
        lastTwoWay: v.last_two_way_at,
        daysSinceTwoWay: v.days_since_two_way,
        threads90d: v.threads_90d,
        twoWayThreads12m: v.two_way_threads_12m,
        strongest: v.strongest_partner_address,
        strongestThreads: v.strongest_partner_threads,
        runnerUp: v.runner_up_partner_address,
        pending: v.pending_proposals,
      }).toEqual({
        id: row.id,
        lastInbound: row.lastInbound?.date ?? null,
        lastInboundFrom: row.lastInbound?.from.address ?? null,
        lastOutbound: row.lastOutbound?.date ?? null,
        lastOutboundPartner: row.lastOutbound?.partner.address ?? null,
        lastTwoWay: row.lastTwoWay,
        daysSinceTwoWay: row.daysSinceTwoWay,
        threads90d: row.threads90d,
        twoWayThreads12m: row.twoWayThreads12m,
        strongest: row.strongestPartner?.address ?? null,
        strongestThreads: row.strongestPartner?.twoWayThreads12m ?? null,
        runnerUp: row.runnerUpPartner?.address ?? null,
        pending: row.pendingProposals,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Search

interface SearchJson {
  query: string;
  total: number;
  results: Array<{ messageKey: string; emailId: number; subject: string | null; bulk: boolean; investors: Array<{ id: number }>; partners: Array<{ address: string }>; snippet: string }>;
}

async function searchJson(args: string[], env = firm.env): Promise<SearchJson> {
  const result = await runCli(['--json', 'search', ...args, '--limit', '1000'], { env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as SearchJson;
}

interface StoredText {
  id: number;
  message_key: string;
  body_text: string | null;
  is_bulk: number;
  investors: string | null;
}

const words = (text: string): string[] => text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/** The logical messages whose stored body holds these words in a row, found without the index. */
function holding(rows: StoredText[], phrase: string[]): StoredText[] {
  return rows.filter((row) => {
    const body = words(row.body_text ?? '');
    return body.some((_, start) => phrase.every((word, offset) => body[start + offset] === word));
  });
}

function storedText(db: Db): StoredText[] {
  return db
    .prepare(
      `SELECT e.id, e.message_key, e.body_text, e.is_bulk,
              (SELECT group_concat(investor_id) FROM email_investor_matches m WHERE m.email_id = e.id) AS investors
         FROM emails e`,
    )
    .all() as StoredText[];
}

/** Four words in a row from a body that, in the whole store, only mail of the same kind (one investor, or bulk) holds. */
function distinctivePhrase(rows: StoredText[], pick: (row: StoredText) => boolean, fits: (found: StoredText[]) => boolean): { phrase: string; found: StoredText[] } {
  for (const row of rows.filter(pick)) {
    const body = words(row.body_text ?? '');
    for (let start = 0; start + 4 <= body.length; start++) {
      const phrase = body.slice(start, start + 4);
      const found = holding(rows, phrase);
      if (fits(found)) return { phrase: phrase.join(' '), found };
    }
  }
  throw new Error('no distinctive phrase in the generated firm');
}

describe('crm-mail search', () => {
  it("finds a phrase from one investor's message bodies, and not from newsletters or excluded mail", async () => {
    const db = firm.open();
    const rows = storedText(db);
    db.close();
    const target = rows.find((row) => row.is_bulk === 0 && row.investors !== null && !row.investors.includes(','))!;
    const investor = target.investors!;
    const { phrase, found } = distinctivePhrase(
      rows,
      (row) => row.is_bulk === 0 && row.investors === investor,
      (list) => list.length > 0 && list.every((row) => row.investors === investor && row.is_bulk === 0),
    );
    const hits = await searchJson([`"${phrase}"`]);
    expect(new Set(hits.results.map((hit) => hit.messageKey))).toEqual(new Set(found.map((row) => row.message_key)));
    expect(hits.results.every((hit) => hit.investors.some((i) => String(i.id) === investor))).toBe(true);
    // Each snippet is its own message's, with the phrase's words marked.
    for (const hit of hits.results) expect(hit.snippet.toLowerCase()).toContain(`«${phrase.split(' ')[0]}`);

    // A newsletter's phrase: left out by default, found with --include-bulk.
    const news = distinctivePhrase(
      rows,
      (row) => row.is_bulk === 1,
      (list) => list.length > 0 && list.every((row) => row.is_bulk === 1),
    );
    expect((await searchJson([`"${news.phrase}"`])).total).toBe(0);
    const withBulk = await searchJson([`"${news.phrase}"`, '--include-bulk']);
    expect(new Set(withBulk.results.map((hit) => hit.messageKey))).toEqual(new Set(news.found.map((row) => row.message_key)));

    // The excluded investor's domain is in the generated mail, but nothing of it was stored or indexed.
    const excludedCopies = [...Object.values(firm.scenario.mailboxes)].flat().filter((message) => message.searchHints.from.toLowerCase().includes(excludedDomain));
    expect(excludedCopies.length).toBeGreaterThan(0);
    expect((await searchJson([excludedDomain, '--include-bulk'])).total).toBe(0);
    const kept = firm.scenario.investors.find((candidate) => candidate.domains.length > 0 && candidate.domains[0] !== excludedDomain)!;
    expect((await searchJson([kept.domains[0]!])).total).toBeGreaterThan(0);
  });

  it('filters by investor, partner and dates, and refuses a query without words', async () => {
    const all = await searchJson(['the']);
    expect(all.total).toBeGreaterThan(10);
    // Each snippet comes from its own message's text.
    const db = firm.open();
    const textOf = db.prepare("SELECT coalesce(subject, '') || ' ' || coalesce(body_text, '') AS text FROM emails WHERE id = ?");
    const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();
    for (const hit of all.results.slice(0, 10)) {
      const fragment = squash(hit.snippet.replace(/[«»]/g, '')).split('…').map((part) => part.trim()).sort((a, b) => b.length - a.length)[0]!;
      expect(squash((textOf.get(hit.emailId) as { text: string }).text)).toContain(fragment);
    }
    db.close();
    const investor = all.results[0]!.investors[0]!.id;
    const byInvestor = await searchJson(['the', '--investor', String(investor)]);
    expect(byInvestor.total).toBeGreaterThan(0);
    expect(byInvestor.total).toBeLessThan(all.total);
    expect(byInvestor.results.every((hit) => hit.investors.some((i) => i.id === investor))).toBe(true);
    const partner = firm.scenario.partners[1]!.email;
    const byPartner = await searchJson(['the', '--partner', partner]);
    expect(byPartner.total).toBeGreaterThan(0);
    expect(byPartner.total).toBeLessThan(all.total);
    expect(byPartner.results.every((hit) => hit.partners.some((p) => p.address === partner))).toBe(true);
    const recent = await searchJson(['the', '--since', '30d']);
    const older = await searchJson(['the', '--until', new Date(Date.now() - 30 * DAY).toISOString()]);
    expect(recent.total + older.total).toBe(all.total);
    expect(recent.total).toBeGreaterThan(0);
    const empty = await runCli(['search', '"*"'], { env: firm.env });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('at least one word');
    // Characters FTS5 would read as syntax are just separators.
    expect((await runCli(['search', 'fee:(AND) "unclosed'], { env: firm.env })).code).toBe(0);
  });

  it('keeps the index in step with rematch, a withheld body and deleted mail', async () => {
    const copy = copyOfFirm('index');
    const db = copy.open();
    const rows = storedText(db);
    // A phrase only one logical message holds (replies quote earlier mail, so often the last of a thread).
    const single = (row: StoredText): boolean => row.is_bulk === 0 && row.investors !== null && !row.investors.includes(',');
    const { phrase, found } = distinctivePhrase(rows, single, (list) => list.length > 0 && list.every((row) => row.message_key === list[0]!.message_key && single(row)));
    const target = found[0]!;
    const investor = Number(target.investors);
    db.close();
    expect(found.length).toBeGreaterThan(0);
    expect((await searchJson([`"${phrase}"`, '--investor', String(investor)], copy.env)).total).toBe(1);

    // Rematch after the investor's addresses are gone from the CRM: the message is no longer theirs.
    const writer = copy.open();
    writer.prepare('UPDATE investors SET email = NULL, firm = NULL WHERE id = ?').run(investor);
    writer.close();
    const rematch = await runCli(['rematch'], { env: copy.env });
    expect(rematch.code, rematch.stderr).toBe(0);
    expect((await searchJson([`"${phrase}"`, '--investor', String(investor)], copy.env)).total).toBe(0);
    expect((await searchJson([`"${phrase}"`, '--include-bulk'], copy.env)).total).toBe(1);

    // A sharing level that withholds the body (the row keeps its subject): the body's words go.
    const hider = copy.open();
    hider.prepare('UPDATE emails SET body_text = NULL WHERE message_key = ?').run(target.message_key);
    hider.close();
    expect((await searchJson([`"${phrase}"`, '--include-bulk'], copy.env)).total).toBe(0);

    // Deleting mail (a purge, or a mailbox removed: the cascade) takes it out of the index.
    const subjectWords = (await searchJson(['the'], copy.env)).results[0]!;
    const purge = copy.open();
    purge.prepare('DELETE FROM emails WHERE message_key = (SELECT message_key FROM emails WHERE id = ?)').run(subjectWords.emailId);
    purge.close();
    expect((await searchJson(['the'], copy.env)).results.map((hit) => hit.messageKey)).not.toContain(subjectWords.messageKey);
    const removed = firm.scenario.partners[0]!.email;
    expect((await runCli(['accounts', 'remove', removed, '--yes'], { env: copy.env })).code).toBe(0);
    const after = await searchJson(['the', '--include-bulk'], copy.env);
    expect(after.total).toBeGreaterThan(0);
    expect(after.results.every((hit) => hit.partners.every((p) => p.address !== removed))).toBe(true);

    // FTS5's own check: every indexed row matches the stored text, and nothing else is indexed.
    const check = copy.open();
    expect(() => check.exec("INSERT INTO email_search (email_search, rank) VALUES ('integrity-check', 1)")).not.toThrow();
    const indexed = (check.prepare("SELECT count(*) AS n FROM email_search_docsize").get() as { n: number }).n;
    const stored = (check.prepare('SELECT count(*) AS n FROM emails').get() as { n: number }).n;
    check.close();
    expect(indexed).toBe(stored);
  });
});

// ---------------------------------------------------------------------------------------------
// One investor's timeline

interface TimelineJson {
  investor: { id: number; name: string };
  entries: Array<{ kind: string; date: string; direction?: string; messages?: number; attachments?: number; partners?: Array<{ address: string }>; note?: string }>;
}

describe('crm-mail investor', () => {
  it("lists the investor's conversations as the scenario has them, found by any-case name", async () => {
    const rows = await investorsJson();
    const busiest = [...rows].sort((a, b) => b.twoWayThreads12m - a.twoWayThreads12m)[0]!;
    const result = await runCli(['--json', 'investor', busiest.name.toUpperCase()], { env: firm.env });
    expect(result.code, result.stderr).toBe(0);
    const timeline = JSON.parse(result.stdout) as TimelineJson;
    expect(timeline.investor.id).toBe(busiest.id);

    const copies = truthCopies(firm.scenario).filter((copy) => copy.kind === 'investor' && copy.investorIds.includes(busiest.id));
    const threads = new Map<string, TruthCopy[]>();
    for (const copy of copies) threads.set(copy.thread, [...(threads.get(copy.thread) ?? []), copy]);
    const expected = [...threads.values()]
      .map((list) => {
        const inbound = list.some((copy) => copy.direction === 'received');
        const outbound = list.some((copy) => copy.direction === 'sent');
        return {
          date: new Date(Math.max(...list.map((copy) => copy.ms))).toISOString(),
          direction: inbound && outbound ? 'two-way' : inbound ? 'inbound' : 'outbound',
          messages: new Set(list.map((copy) => copy.messageId)).size,
        };
      })
      .sort((a, b) => a.date.localeCompare(b.date));
    const shown = timeline.entries.filter((entry) => entry.kind === 'thread').map((entry) => ({ date: entry.date, direction: entry.direction, messages: entry.messages }));
    expect(shown).toEqual(expected);
    expect(timeline.entries.some((entry) => (entry.partners ?? []).length > 0)).toBe(true);

    const human = await runCli(['investor', String(busiest.id)], { env: firm.env });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Investor #${busiest.id} `);
    expect(human.stdout).toMatch(/\d{4}-\d{2}-\d{2} {2}thread #\d+ {2}(two-way|inbound|outbound) /);
  });

  it('puts approved notes and pending proposals in date order, and lists the candidates of an ambiguous name', async () => {
    const copy = copyOfFirm('timeline');
    const rows = await investorsJson([], copy.env);
    const target = rows[0]!;
    const before = JSON.parse((await runCli(['--json', 'investor', String(target.id)], { env: copy.env })).stdout) as TimelineJson;
    const threadDates = before.entries.map((entry) => Date.parse(entry.date));
    const writer = copy.open();
    const user = writer.prepare('SELECT id FROM users ORDER BY id LIMIT 1').get() as { id: number };
    const add = writer.prepare(
      `INSERT INTO email_activity_proposals (message_key, investor_id, message_date_ms, drafted_note, final_note, drafter, status, decided_by, decided_at)
       VALUES (?, ?, ?, ?, ?, 'rule', ?, ?, ?)`,
    );
    add.run('<n1>', target.id, threadDates[0]! + 1000, 'approved draft', 'APPROVED NOTE', 'approved', user.id, new Date().toISOString());
    add.run('<n2>', target.id, threadDates[0]! - DAY, 'PENDING NOTE', null, 'pending', null, null);
    add.run('<n3>', target.id, threadDates[0]! + 2000, 'DISMISSED NOTE', null, 'dismissed', user.id, new Date().toISOString());
    writer.close();
    const after = JSON.parse((await runCli(['--json', 'investor', String(target.id)], { env: copy.env })).stdout) as TimelineJson;
    expect(after.entries.map((entry) => entry.kind).slice(0, 3)).toEqual(['proposal', 'thread', 'note']);
    expect(after.entries[0]!.note).toBe('PENDING NOTE');
    expect(after.entries[2]!.note).toBe('APPROVED NOTE');
    expect(after.entries.some((entry) => entry.note === 'DISMISSED NOTE')).toBe(false);
    const dates = after.entries.map((entry) => entry.date);
    expect(dates).toEqual([...dates].sort());

    const ambiguous = await runCli(['investor', 'a'], { env: copy.env });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/matches \d+ investors; give the id of one/);
    for (const investor of firm.scenario.investors.filter((candidate) => candidate.name.toLowerCase().includes('a'))) {
      expect(ambiguous.stderr).toContain(`#${investor.id} ${investor.name}`);
    }
    expect((await runCli(['investor', 'no such investor'], { env: copy.env })).code).toBe(7);
  });
});

// ---------------------------------------------------------------------------------------------
// Suggested contacts

describe('crm-mail investors suggestions', () => {
  it("suggests the investor's people on its domain who are missing from its CRM cell, read-only", async () => {
    const db = firm.open();
    const cellsBefore = db.prepare('SELECT * FROM investors ORDER BY id').all();
    db.close();
    const result = await runCli(['--json', 'investors', 'suggestions'], { env: firm.env });
    expect(result.code, result.stderr).toBe(0);
    const suggestions = JSON.parse(result.stdout) as Array<{ investorId: number; address: string; messages: number; lastDate: string }>;
    expect(suggestions.length).toBeGreaterThan(0);
    const copies = truthCopies(firm.scenario).filter((copy) => copy.kind === 'investor');
    for (const suggestion of suggestions) {
      const investor = firm.scenario.investors.find((candidate) => candidate.id === suggestion.investorId)!;
      expect(investor.contacts.map((address) => address.toLowerCase())).toContain(suggestion.address);
      expect(investor.emailCell.toLowerCase()).not.toContain(suggestion.address);
      expect(investor.domains.some((domain) => suggestion.address.endsWith('@' + domain) || suggestion.address.endsWith('.' + domain))).toBe(true);
      const seen = copies.filter((copy) => copy.investorIds.includes(investor.id) && copy.people.includes(suggestion.address));
      expect(suggestion.messages).toBe(new Set(seen.map((copy) => copy.messageId)).size);
      expect(Date.parse(suggestion.lastDate)).toBe(Math.max(...seen.map((copy) => copy.ms)));
    }
    // Every contact missing from a cell who is in the investor's captured mail on its domain is suggested.
    const expected = new Set<string>();
    for (const investor of firm.scenario.investors) {
      if (investor.domains.length === 0) continue;
      for (const address of investor.contacts.map((contact) => contact.toLowerCase())) {
        if (investor.emailCell.toLowerCase().includes(address)) continue;
        if (!investor.domains.some((domain) => address.endsWith('@' + domain) || address.endsWith('.' + domain))) continue;
        if (copies.some((copy) => copy.investorIds.includes(investor.id) && copy.people.includes(address))) expected.add(`${investor.id}|${address}`);
      }
    }
    expect(new Set(suggestions.map((s) => `${s.investorId}|${s.address}`))).toEqual(expected);
    const check = firm.open();
    expect(check.prepare('SELECT * FROM investors ORDER BY id').all()).toEqual(cellsBefore);
    check.close();
    const human = await runCli(['investors', 'suggestions'], { env: firm.env });
    expect(human.stdout).toContain(suggestions[0]!.address);
  });
});
