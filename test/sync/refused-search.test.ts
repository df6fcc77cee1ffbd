/**
 * Gmail documents no limit on `q`: a search it refuses (400) must not block the mailbox. The emulator
 * refuses every `q` longer than `maxQueryChars`; crm-mail's 1,500-character searches are halved until
 * accepted, and the one investor whose address is too long to search even alone is recorded as
 * unsearchable, named by status and doctor, while the run captures everything else and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/emulator/index.js';
import { buildQueries, splitQuery } from '../../src/match/investorIndex.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { expectExactCapture, startFirm, type Firm } from './firm.js';

const MAX_QUERY_CHARS = 400;
// Searched by its address (the firm cell names no domain): too long to fit a 400-character query even alone.
const LONG_DOMAIN = 'investor-relations.capital-calls-and-distributions.long-family-office-holdings-group.north-america.example';
const LONG_ADDRESS = `desk@${LONG_DOMAIN}`;
const LONG_INVESTOR_ID = 9001;
const dir = tempDir('crm-mail-refused-search-');
let firm: Firm;
let partner: string;

/** messages.list calls the split costs for one search: every refused try plus the accepted ones (one page each here). */
function listCallsFor(query: string): number {
  if (query.length <= MAX_QUERY_CHARS) return 1;
  const split = splitQuery(query);
  if (!split || 'term' in split) return 1;
  return 1 + listCallsFor(split.parts[0]) + listCallsFor(split.parts[1]);
}

function searchTerms(): string[] {
  const db = firm.open();
  try {
    return JSON.parse((db.prepare('SELECT searched_terms FROM email_accounts WHERE email = ?').get(partner) as { searched_terms: string }).searched_terms) as string[];
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  firm = await startFirm(dir, { scenario: { ...SCENARIOS.small, seed: 41, partners: 2, messages: 40 }, emulator: { maxQueryChars: MAX_QUERY_CHARS } });
  partner = firm.scenario.partners[0]!.email.toLowerCase();
  const db = firm.open();
  db.prepare('INSERT INTO investors (id, name, email, firm) VALUES (?, ?, ?, ?)').run(LONG_INVESTOR_ID, 'Long Family Office', LONG_ADDRESS, 'Long Family Office');
  db.close();
  expect((await runCli(['enroll-all'], { env: firm.env })).code).toBe(0);
});
afterAll(async () => firm?.stop());

describe('a search Gmail refuses', () => {
  it('is halved until accepted; a term refused alone is recorded, reported, and the backfill completes', async () => {
    const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const summary = JSON.parse(result.stdout) as { accounts: Array<{ account: string; kind: string; status: string; stored: number; fetched: number; details: { unsearchable?: string[] } }> };
    for (const account of summary.accounts) {
      expect(account).toMatchObject({ kind: 'backfill', status: 'ok' });
      expect(account.details.unsearchable).toEqual([LONG_ADDRESS]);
    }
    // Everything the scenario says is investor mail is stored, once (the long-address investor has none yet).
    expectExactCapture(firm);

    // The cost: each mailbox tried every half once and fetched each message once.
    const queries = buildQueries(searchTerms(), 1500);
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.some((query) => query.length > MAX_QUERY_CHARS)).toBe(true);
    const expectedListCalls = queries.reduce((total, query) => total + listCallsFor(query), 0);
    for (const account of summary.accounts) {
      const counters = firm.emu.counters(account.account);
      expect(counters.byMethod['messages.list']?.calls).toBe(expectedListCalls);
      expect(counters.byMethod['messages.get']?.calls).toBe(account.fetched);
    }

    const status = await runCli(['--json', 'status'], { env: firm.env });
    expect(status.code, status.stdout).toBe(0);
    const report = JSON.parse(status.stdout) as { accounts: Array<{ email: string; unsearchable: string[] }> };
    expect(report.accounts.map((account) => account.unsearchable)).toEqual([[LONG_ADDRESS], [LONG_ADDRESS]]);
    const human = await runCli(['status'], { env: firm.env });
    expect(human.stdout).toContain(`note: ${partner}: Gmail refuses to search the investor term ${LONG_ADDRESS}; older mail of it is not backfilled`);

    const doctor = await runCli(['doctor'], { env: firm.env });
    const line = doctor.stdout.split('\n').find((text) => /^\w+\s+accounts\s/.test(text));
    expect(line).toMatch(new RegExp(`^WARN\\s+accounts\\s+2 mailboxes enrolled; Gmail refuses to search the investor term ${LONG_ADDRESS.replace(/\./g, '\\.')} in 2 mailboxes`));
    expect(line).toContain('rematch --remote');
  });

  it('does not stop new mail of that investor arriving through history', async () => {
    const messageId = `long-investor-${Date.now()}@${LONG_DOMAIN}`;
    const raw = Buffer.from(
      [`From: ${LONG_ADDRESS}`, `To: ${partner}`, 'Subject: Our commitment', `Date: ${new Date(firm.emu.now()).toUTCString()}`, `Message-ID: <${messageId}>`, '', 'We are in.', ''].join('\r\n'),
    );
    firm.emu.addMessage(partner, raw, { labelIds: ['INBOX'] });
    const result = await runCli(['--json', 'sync', '--no-propose'], { env: firm.env });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const mine = (JSON.parse(result.stdout) as { accounts: Array<{ account: string; kind: string; stored: number }> }).accounts.find((account) => account.account === partner);
    expect(mine).toMatchObject({ kind: 'incremental', stored: 1 });
    const db = firm.open();
    const row = db
      .prepare('SELECT m.investor_id FROM emails e JOIN email_investor_matches m ON m.email_id = e.id WHERE e.rfc_message_id = ?')
      .get(messageId) as { investor_id: number } | undefined;
    db.close();
    expect(row?.investor_id).toBe(LONG_INVESTOR_ID);
  });
});
