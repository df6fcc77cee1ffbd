/**
 * Issue 9, item 5: `crm-mail rematch` over a large store after 100 investors were added to the CRM,
 * and the startup of `crm-mail --help` and `crm-mail status`. Every figure is the wall time of the
 * whole spawned process, startup included.
 *
 * The store is filled in-process through the real capture path (mailparser -> investor index ->
 * captureMessage into SQLite) from generated mail: a set of distinct generated messages is parsed
 * once and captured repeatedly under distinct Gmail ids and Message-IDs (their References dropped, so
 * the copies do not merge into one giant conversation). Rematch reads only participants, so repeated
 * content does not change its cost; it keeps the store fast to build.
 *
 * The 100 investors added are real ones of the generated firm that the CRM did not hold yet: the
 * scenario has 300 investors, the CRM starts with 200, and the mail with the other 100 is stored
 * unmatched (the store keeps every message), as when a firm imports contacts it already wrote to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateScenario } from '../../src/emulator/index.js';
import { loadConfig } from '../../src/config.js';
import { insertCrmFixture } from '../../src/db/crm.js';
import { migrate } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { parseRaw, type CanonicalMessage } from '../../src/mail/parse.js';
import { captureMessage } from '../../src/capture.js';
import { enrollAll } from '../../src/sync/enroll.js';
import { buildInvestorIndex } from '../../src/sync/wiring.js';
import { parseJson, runCrmMailOk } from '../lib/crm-cli.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import { stageBreakdown, type StageBreakdown } from '../lib/cpu-profile.js';

type Log = (line: string) => void;

/** Investors the scenario has and the CRM does not yet: the ones rematch is timed after adding. */
export const ADDED_INVESTORS = 100;

export interface Store {
  dir: string;
  /** The scenario's investors left out of the CRM, to be added before rematch. */
  withheld: Array<{ id: number; name: string; email: string; firm: string | null }>;
  dbPath: string;
  env: Record<string, string>;
  stored: number;
  distinctMessages: number;
  buildSeconds: number;
  remove(): void;
}

/** A CRM with five enrolled partners and `total` stored mailbox copies. */
export async function buildStore(total: number, distinct: number, log: Log): Promise<Store> {
  const scenario = generateScenario({ seed: 19, partners: 5, investors: 200 + ADDED_INVESTORS, messages: Math.ceil(distinct / 5), investorFraction: 0.3 });
  const crmInvestors = scenario.investors.map((investor) => ({ id: investor.id, name: investor.name, email: investor.emailCell, firm: investor.firm }));
  const withheld = crmInvestors.slice(200);
  const dir = mkdtempSync(join(tmpdir(), 'crm-mail-bench-store-'));
  const dbPath = join(dir, 'crm.db');
  const env = { CRM_DB_PATH: dbPath, CRM_GMAIL_WORKSPACE_DOMAIN: scenario.domain, CRM_MAIL_BENCH_TMP: dir };
  const started = performance.now();
  const db = openDatabase(dbPath);
  try {
    await migrate(db, { dbPath, backup: false, dryRun: false });
    insertCrmFixture(db, {
      users: scenario.partners.map((partner) => ({ email: partner.email, name: partner.name })),
      investors: crmInvestors.slice(0, 200),
    });
    enrollAll(db, { workspaceDomain: scenario.domain, authMethod: 'dwd' });
    const accounts = db.prepare('SELECT id, email FROM email_accounts ORDER BY id').all() as Array<{ id: number; email: string }>;
    const index = buildInvestorIndex(db, loadConfig(env));
    const parsed: Array<{ accountId: number; accountEmail: string; message: CanonicalMessage }> = [];
    for (const account of accounts) {
      for (const generated of scenario.mailboxes[account.email] ?? []) {
        parsed.push({ accountId: account.id, accountEmail: account.email, message: await parseRaw(generated.raw) });
      }
    }
    const pageSize = 500;
    for (let start = 0; start < total; start += pageSize) {
      db.transaction(() => {
        for (let n = start; n < Math.min(total, start + pageSize); n++) {
          const source = parsed[n % parsed.length]!;
          const message: CanonicalMessage = {
            ...source.message,
            gmailId: `bench${n}`,
            gmailThreadId: `bench-thread${n}`,
            messageId: `${n}.${source.message.messageId ?? 'none'}`,
            messageKey: `${source.message.messageKey}#${n}`,
            inReplyTo: undefined,
            references: [],
          };
          captureMessage(db, { accountId: source.accountId, message, match: index.match(message, source.accountEmail), contentLevel: 'full' });
        }
      })();
    }
    log(`  store: ${total.toLocaleString('en-US')} copies from ${parsed.length} distinct generated messages in ${round((performance.now() - started) / 1000)}s`);
    return { dir, withheld, dbPath, env, stored: total, distinctMessages: parsed.length, buildSeconds: round((performance.now() - started) / 1000), remove: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    db.close();
  }
}

interface RematchJson {
  examined: number;
  changed: number;
  linksAdded: number;
  linksRemoved: number;
}

export interface RematchResult {
  storedMessages: number;
  distinctMessages: number;
  storeBuildSeconds: number;
  investorsAdded: number;
  repetitions: number;
  examined: number;
  changed: number;
  linksAdded: number;
  wallMs: Summary;
  command: string;
  /** One more run under node --cpu-prof: where rematch spends its time. */
  profile?: StageBreakdown & { wallSeconds: number };
}

/** Adds the withheld investors, runs `crm-mail rematch`, removes them again (links cascade). */
async function rematchOnce(store: Store, cpuProfileDir?: string): Promise<{ wallMs: number; json: RematchJson; cpuProfile?: string }> {
  const writer = openDatabase(store.dbPath);
  let ids: number[];
  try {
    ids = insertCrmFixture(writer, { investors: store.withheld }).investorIds;
  } finally {
    writer.close();
  }
  try {
    const run = await runCrmMailOk(['--json', 'rematch'], { env: store.env, cpuProfileDir });
    return { wallMs: run.wallMs, json: parseJson<RematchJson>(run, 'crm-mail rematch'), cpuProfile: run.cpuProfile };
  } finally {
    const cleaner = openDatabase(store.dbPath);
    try {
      const remove = cleaner.prepare('DELETE FROM investors WHERE id = ?');
      cleaner.transaction(() => ids.forEach((id) => remove.run(id)))();
    } finally {
      cleaner.close();
    }
  }
}

/** Every repetition does the same work: the same 100 investors added, linked, and removed again. */
export async function benchRematch(store: Store, repetitions: number, log: Log, options: { profile?: boolean } = {}): Promise<RematchResult> {
  const walls: number[] = [];
  let last: RematchJson | undefined;
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const run = await rematchOnce(store);
    last = run.json;
    walls.push(run.wallMs);
    log(`  rematch run ${repetition + 1}/${repetitions}: ${Math.round(run.wallMs)} ms, examined ${last.examined}, ${last.linksAdded} links added`);
  }
  const result: RematchResult = {
    storedMessages: store.stored,
    distinctMessages: store.distinctMessages,
    storeBuildSeconds: store.buildSeconds,
    investorsAdded: store.withheld.length,
    repetitions,
    examined: last!.examined,
    changed: last!.changed,
    linksAdded: last!.linksAdded,
    wallMs: summarize(walls, 0),
    command: 'crm-mail --json rematch (local), spawned through bin/crm-mail',
  };
  if (options.profile) {
    const run = await rematchOnce(store, join(store.dir, 'profile'));
    if (!run.cpuProfile) throw new Error('node --cpu-prof wrote no profile for rematch');
    result.profile = { ...stageBreakdown(run.cpuProfile), wallSeconds: round(run.wallMs / 1000) };
    log(`  profiled rematch: ${Math.round(run.wallMs)} ms, dominant stage ${result.profile.dominant}`);
  }
  return result;
}

export interface StartupResult {
  repetitions: number;
  help: Summary;
  status: Array<{ database: string; wallMs: Summary }>;
}

export async function benchStartup(databases: Array<{ label: string; env: Record<string, string> }>, repetitions: number, log: Log): Promise<StartupResult> {
  // status exits 1 when it raises an alert (an account never synced, say): still a finished run.
  const time = async (args: string[], env: Record<string, string>): Promise<Summary> => {
    await runCrmMailOk(args, { env }, [0, 1]); // warm the file cache once, as on a machine that ran it before
    const walls: number[] = [];
    for (let repetition = 0; repetition < repetitions; repetition++) walls.push((await runCrmMailOk(args, { env }, [0, 1])).wallMs);
    return summarize(walls, 0);
  };
  const help = await time(['--help'], {});
  log(`  crm-mail --help: ${help.median} ms median`);
  const status: StartupResult['status'] = [];
  for (const database of databases) {
    const wallMs = await time(['status'], database.env);
    status.push({ database: database.label, wallMs });
    log(`  crm-mail status (${database.label}): ${wallMs.median} ms median`);
  }
  return { repetitions, help, status };
}
