/**
 * Pipeline figures (issue 5), measured on this machine, never asserted in tests:
 * - messages parsed (mailparser, from raw) and matched per second on one core, over the shared corpus
 *   (its average message size is reported with the figure);
 * - time to rebuild the investor index for 5,000 investors (messy cells, shared and personal domains),
 *   9 runs: median and fastest (on shared cores the fastest is the closest to an idle core), and
 *   the time to derive its Gmail search queries;
 * - captures per second into a fresh SQLite file (one transaction per page of 100).
 *
 * Run: npm run build && node dist/bench/pipeline.js [--json]
 * Reads ../shared/corpus; everything else is a temporary folder. No network.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRaw } from '../src/mail/parse.js';
import { InvestorIndex, type InvestorRecord } from '../src/match/investorIndex.js';
import { captureMessage } from '../src/capture.js';
import { migrate } from '../src/db/migrate.js';
import { openDatabase } from '../src/db/open.js';

export interface PipelineFigures {
  corpusMessages: number;
  averageMessageBytes: number;
  parseMatchPerSecond: number;
  parseMatchMsPerMessage: number;
  indexInvestors: number;
  indexBuildMs: number[];
  indexBuildMedianMs: number;
  indexBuildMinMs: number;
  searchTerms: number;
  searchQueries: number;
  searchQueriesMs: number;
  capturePerSecond: number;
}

function corpusDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', '..', '..', 'shared', 'corpus'), join(here, '..', '..', 'shared', 'corpus')]) if (existsSync(candidate)) return candidate;
  throw new Error('the shared corpus (../shared/corpus next to the project) is missing; the parse figure needs it');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** 5,000 investors as a CRM holds them: one or two addresses, a few at personal domains, some banks shared. */
export function syntheticInvestors(count: number): InvestorRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const org = i % 50 === 0 ? 'bigbank.com' : `fund${i}.com`;
    const cells = [`"Partner ${i}" <partner${i}@${org}>`];
    if (i % 3 === 0) cells.push(`ops${i}@mail.${org}`);
    if (i % 7 === 0) cells.push(`angel${i}@gmail.com`);
    return { id: i + 1, name: `Investor ${i}`, email: cells.join(i % 2 === 0 ? '; ' : ', '), firm: i % 5 === 0 ? `https://www.${org}` : `Firm ${i}` };
  });
}

export async function benchPipeline(): Promise<PipelineFigures> {
  const dir = corpusDir();
  const raws = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
  const averageMessageBytes = Math.round(raws.reduce((n, r) => n + r.length, 0) / raws.length);
  const investors = syntheticInvestors(5000);

  const buildMs: number[] = [];
  let index!: InvestorIndex;
  for (let i = 0; i < 9; i++) {
    const start = performance.now();
    index = InvestorIndex.build(investors, { workspaceDomain: 'northwind.vc', exclusions: ['lawfirm.example'] });
    buildMs.push(performance.now() - start);
  }
  const queriesStart = performance.now();
  const queries = index.searchQueries();
  const searchQueriesMs = performance.now() - queriesStart;

  // Warm up, then time whole passes over the corpus for at least 3 s.
  for (const raw of raws.slice(0, 10)) index.match(await parseRaw(raw), 'jane@northwind.vc');
  let parsed = 0;
  const start = performance.now();
  while (performance.now() - start < 3000) {
    for (const raw of raws) {
      index.match(await parseRaw(raw), 'jane@northwind.vc');
      parsed++;
    }
  }
  const elapsed = performance.now() - start;

  // Capture into SQLite: the parsed corpus, repeated under distinct Gmail ids.
  const tmp = mkdtempSync(join(tmpdir(), 'crm-mail-bench-'));
  let capturePerSecond = 0;
  try {
    const dbPath = join(tmp, 'crm.db');
    const db = openDatabase(dbPath);
    await migrate(db, { dbPath, backup: false, dryRun: false });
    db.prepare("INSERT INTO users (id, email) VALUES (1, 'jane@northwind.vc')").run();
    db.prepare("INSERT INTO email_accounts (id, user_id, email) VALUES (1, 1, 'jane@northwind.vc')").run();
    const messages = await Promise.all(raws.map((raw) => parseRaw(raw)));
    const total = 2000;
    const captureStart = performance.now();
    for (let page = 0; page < total / 100; page++) {
      db.transaction(() => {
        for (let i = 0; i < 100; i++) {
          const n = page * 100 + i;
          const message = messages[n % messages.length]!;
          captureMessage(db, { accountId: 1, message: { ...message, gmailId: `g${n}`, messageKey: `${message.messageKey}#${n}` }, match: index.match(message), contentLevel: 'full' });
        }
      })();
    }
    capturePerSecond = Math.round(total / ((performance.now() - captureStart) / 1000));
    db.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  return {
    corpusMessages: raws.length,
    averageMessageBytes,
    parseMatchPerSecond: Math.round(parsed / (elapsed / 1000)),
    parseMatchMsPerMessage: Number((elapsed / parsed).toFixed(3)),
    indexInvestors: investors.length,
    indexBuildMs: buildMs.map((ms) => Number(ms.toFixed(1))),
    indexBuildMedianMs: Number(median(buildMs).toFixed(1)),
    indexBuildMinMs: Number(Math.min(...buildMs).toFixed(1)),
    searchTerms: index.terms().length,
    searchQueries: queries.length,
    searchQueriesMs: Number(searchQueriesMs.toFixed(1)),
    capturePerSecond,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await benchPipeline();
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(figures) + '\n');
  } else {
    process.stdout.write(
      [
        `parse+match from raw: ${figures.parseMatchPerSecond} messages/s on one core (${figures.parseMatchMsPerMessage} ms each; ${figures.corpusMessages} corpus messages, average ${figures.averageMessageBytes} bytes)`,
        `investor index, ${figures.indexInvestors} investors: ${figures.indexBuildMedianMs} ms median rebuild, ${figures.indexBuildMinMs} ms fastest (runs: ${figures.indexBuildMs.join(', ')} ms)`,
        `search: ${figures.searchTerms} terms in ${figures.searchQueries} queries, built in ${figures.searchQueriesMs} ms`,
        `capture into SQLite: ${figures.capturePerSecond} messages/s (pages of 100 in one transaction)`,
      ].join('\n') + '\n',
    );
  }
}
