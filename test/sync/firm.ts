/**
 * A generated firm for the sync tests: the emulator (in this process) serving the scenario's
 * mailboxes, a real migrated CRM file holding the scenario's partners and investors, the environment
 * that points the CLI at both, and what the database should hold according to the scenario's truth.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { crmMailSettings, startEmulator, generateScenario, type Emulator, type EmulatorOptions, type Scenario, type ScenarioOptions } from '../../src/emulator/index.js';
import { insertCrmFixture } from '../../src/db/crm.js';
import { openDatabase, type Db } from '../../src/db/open.js';
import { migratedDb } from './db.js';

export interface Firm {
  emu: Emulator;
  scenario: Scenario;
  dbPath: string;
  env: Record<string, string>;
  open(): Db;
  stop(): Promise<void>;
}

export async function startFirm(
  dir: string,
  options: {
    scenario: ScenarioOptions;
    emulator?: Omit<EmulatorOptions, 'scenario'>;
    env?: Record<string, string>;
    name?: string;
    /** Changes the generated mail before the emulator loads it (the truth stays as generated). */
    edit?: (scenario: Scenario) => void;
  },
): Promise<Firm> {
  const scenario = generateScenario(options.scenario);
  options.edit?.(scenario);
  const emu = await startEmulator({ quotaUnitsPerSec: 0, ...options.emulator, scenario });
  const dbPath = join(dir, `${options.name ?? 'crm'}.db`);
  const db = await migratedDb(dbPath);
  insertCrmFixture(db, {
    users: scenario.partners.map((partner) => ({ email: partner.email, name: partner.name })),
    investors: scenario.investors.map((investor) => ({ id: investor.id, name: investor.name, email: investor.emailCell, firm: investor.firm })),
  });
  db.close();
  const env: Record<string, string> = {
    CRM_DB_PATH: dbPath,
    ...crmMailSettings(emu),
    CRM_GMAIL_ATTACHMENTS_DIR: join(dir, `${options.name ?? 'crm'}-attachments`),
    NO_PROXY: '127.0.0.1,localhost',
    ...options.env,
  };
  return { emu, scenario, dbPath, env, open: () => openDatabase(dbPath), stop: () => emu.stop() };
}

const stripBrackets = (id: string): string => id.replace(/^<|>$/g, '');

function fromDomain(raw: Buffer): string {
  const head = raw.subarray(0, Math.min(raw.length, 16_384)).toString('latin1').split(/\r?\n\r?\n/)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const from = unfolded.match(/^From:(.*)$/im)?.[1] ?? '';
  const address = from.match(/<([^>]+)>/)?.[1] ?? from.trim();
  return address.split('@')[1]?.toLowerCase() ?? '';
}

/**
 * What a complete capture holds, per mailbox: Message-ID -> investor ids. From the scenario's truth:
 * investor mail (not in Trash), plus newsletters an investor's own domain sends (their domain matches).
 */
export function expectedCapture(scenario: Scenario): Map<string, Map<string, number[]>> {
  const byDomain = new Map<string, number>();
  for (const investor of scenario.investors) for (const domain of investor.domains) byDomain.set(domain, investor.id);
  const result = new Map<string, Map<string, number[]>>();
  for (const partner of scenario.partners) {
    const expected = new Map<string, number[]>();
    const box = scenario.mailboxes[partner.email] ?? [];
    box.forEach((message, index) => {
      if (message.labelIds.includes('TRASH') || message.labelIds.includes('SPAM')) return;
      const truth = scenario.truth[partner.email]![index]!;
      if (truth.kind === 'investor' && truth.investorIds.length > 0) expected.set(stripBrackets(truth.messageId), [...truth.investorIds]);
      if (truth.kind === 'newsletter') {
        const domain = fromDomain(message.raw);
        const owner = [...byDomain].find(([known]) => domain === known || domain.endsWith('.' + known))?.[1];
        if (owner !== undefined) expected.set(stripBrackets(truth.messageId), [owner]);
      }
    });
    result.set(partner.email.toLowerCase(), expected);
  }
  return result;
}

/** What the database holds, in the same shape (live copies only), plus duplicate copies found. */
export function storedCapture(db: Db): { byAccount: Map<string, Map<string, number[]>>; duplicates: number; rows: number } {
  const rows = db
    .prepare(
      `SELECT a.email AS account, e.id, e.rfc_message_id AS messageId,
              (SELECT group_concat(investor_id) FROM (SELECT investor_id FROM email_investor_matches m WHERE m.email_id = e.id ORDER BY investor_id)) AS investors
         FROM emails e JOIN email_accounts a ON a.id = e.account_id WHERE e.deleted_at IS NULL`,
    )
    .all() as Array<{ account: string; id: number; messageId: string | null; investors: string | null }>;
  const byAccount = new Map<string, Map<string, number[]>>();
  let duplicates = 0;
  for (const row of rows) {
    let box = byAccount.get(row.account);
    if (!box) byAccount.set(row.account, (box = new Map()));
    const key = row.messageId ?? `(no id ${row.id})`;
    if (box.has(key)) duplicates += 1;
    box.set(key, row.investors ? row.investors.split(',').map(Number) : []);
  }
  const copies = (db.prepare('SELECT count(*) AS n FROM emails').get() as { n: number }).n;
  const distinct = (db.prepare('SELECT count(*) AS n FROM (SELECT DISTINCT account_id, gmail_id FROM emails)').get() as { n: number }).n;
  return { byAccount, duplicates: duplicates + (copies - distinct), rows: rows.length };
}

/** Per investor: the set of "account|Message-ID" copies linked to it. */
export function byInvestor(capture: Map<string, Map<string, number[]>>): Map<number, Set<string>> {
  const result = new Map<number, Set<string>>();
  for (const [account, box] of capture) {
    for (const [messageId, investors] of box) {
      for (const investor of investors) {
        let set = result.get(investor);
        if (!set) result.set(investor, (set = new Set()));
        set.add(`${account}|${messageId}`);
      }
    }
  }
  return result;
}

/** Sorted plain objects, so a failing comparison prints a readable diff. */
export function plain(capture: Map<string, Map<string, number[]>>): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const account of [...capture.keys()].sort()) {
    const box = capture.get(account)!;
    out[account] = Object.fromEntries([...box.keys()].sort().map((key) => [key, [...box.get(key)!].sort((a, b) => a - b)]));
  }
  return out;
}

/** The database holds exactly the scenario's investor copies, per account and per investor, once each. */
export function expectExactCapture(firm: Firm): void {
  const db = firm.open();
  const stored = storedCapture(db);
  db.close();
  const expected = expectedCapture(firm.scenario);
  expect(stored.duplicates).toBe(0);
  expect(plain(stored.byAccount)).toEqual(plain(expected));
  expect(byInvestor(stored.byAccount)).toEqual(byInvestor(expected));
}

/** How many attachments the firm's CRM holds in each status (stored, failed, skipped...). */
export function attachmentStatus(firm: Firm): Record<string, number> {
  const db = firm.open();
  try {
    const rows = db.prepare('SELECT status, count(*) AS n FROM email_attachments GROUP BY status').all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  } finally {
    db.close();
  }
}
