/**
 * Issue 16's benchmarks: the relationship commands over the large store (the rematch section's
 * 100,000 mailbox copies), each as the wall time of the whole spawned process, startup included:
 * `crm-mail investors` (the whole table), `crm-mail investor <id>` (one timeline, for the investor
 * with the most person-to-person mail, the longest one), and `crm-mail search` for a rare and a common word; and the
 * full-text index's share of the database file.
 *
 * The words are read off the index itself (FTS5's own vocabulary, through a temporary fts5vocab
 * table that is never written to the file): the rare one is the letters-only word of 6 or more
 * letters in the fewest messages, the common one the letters-only word of 4 or more letters in the
 * most, so the figures do not depend on a word someone guessed at.
 */
import { openDatabase } from '../../src/db/open.js';
import { searchIndexBytes } from '../../src/db/search.js';
import { parseJson, runCrmMailOk } from '../lib/crm-cli.js';
import { round, summarize, type Summary } from '../lib/stats.js';
import type { Store } from './rematch.js';

type Log = (line: string) => void;

/** Issue 16's goals, whole process. */
export const RELATIONSHIP_GOALS_MS = { investors: 1000, investor: 300, search: 300 } as const;

interface Probe {
  /** The investor with the most counted copies (person-to-person, not internal-only), and how many. */
  investor: { id: number; name: string; copies: number };
  rare: { word: string; messages: number };
  common: { word: string; messages: number };
  index: { bytes: number; databaseBytes: number };
}

export interface RelationshipTiming {
  command: string;
  wallMs: Summary;
  /** What the command answered: rows, timeline entries or hits. */
  answered: number;
}

export interface RelationshipsResult {
  storedMessages: number;
  repetitions: number;
  investors: RelationshipTiming;
  investor: RelationshipTiming & { investorCopies: number };
  searchRare: RelationshipTiming & { word: string; messagesWithWord: number };
  searchCommon: RelationshipTiming & { word: string; messagesWithWord: number };
  /** email_search and its shadow tables, in bytes, and their share of the whole file. */
  indexBytes: number;
  databaseBytes: number;
  indexShare: number;
}

function probe(dbPath: string): Probe {
  const db = openDatabase(dbPath);
  try {
    const investor = db
      .prepare(
        `SELECT m.investor_id AS id, i.name AS name, count(*) AS copies
           FROM email_investor_matches m JOIN investors i ON i.id = m.investor_id JOIN emails e ON e.id = m.email_id
          WHERE e.is_bulk = 0 AND e.direction IN ('sent', 'received')
          GROUP BY m.investor_id ORDER BY copies DESC, m.investor_id LIMIT 1`,
      )
      .get() as Probe['investor'] | undefined;
    if (!investor) throw new Error('the store has no mail matched to an investor');
    db.exec("CREATE VIRTUAL TABLE temp.bench_vocab USING fts5vocab(main, email_search, 'row')");
    const word = (minLength: number, order: 'ASC' | 'DESC'): { word: string; messages: number } => {
      const row = db
        .prepare(`SELECT term AS word, doc AS messages FROM temp.bench_vocab WHERE length(term) >= ? AND term NOT GLOB '*[^a-z]*' ORDER BY doc ${order}, term LIMIT 1`)
        .get(minLength) as { word: string; messages: number } | undefined;
      if (!row) throw new Error('the full-text index is empty');
      return row;
    };
    const rare = word(6, 'ASC');
    const common = word(4, 'DESC');
    const all = db.prepare('SELECT sum(pgsize) AS bytes FROM dbstat').get() as { bytes: number };
    return { investor, rare, common, index: { bytes: searchIndexBytes(db), databaseBytes: all.bytes } };
  } finally {
    db.close();
  }
}

/** One warm-up run (the file cache, as on a machine that ran it before), then `repetitions` timed runs. */
async function time(args: string[], store: Store, repetitions: number, count: (json: unknown) => number): Promise<RelationshipTiming> {
  const warm = await runCrmMailOk(['--json', ...args], { env: store.env });
  const answered = count(parseJson<unknown>(warm, `crm-mail ${args.join(' ')}`));
  const walls: number[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) walls.push((await runCrmMailOk(['--json', ...args], { env: store.env })).wallMs);
  return { command: `crm-mail --json ${args.join(' ')}`, wallMs: summarize(walls, 0), answered };
}

/** Entries of whatever list a JSON document leads with: the rows themselves, or its first array field. */
export function answeredCount(json: unknown): number {
  if (Array.isArray(json)) return json.length;
  if (json && typeof json === 'object') {
    for (const value of Object.values(json as Record<string, unknown>)) if (Array.isArray(value)) return value.length;
  }
  return 0;
}

export async function benchRelationships(store: Store, repetitions: number, log: Log): Promise<RelationshipsResult> {
  const facts = probe(store.dbPath);
  log(
    `  probe: investor ${facts.investor.id} has the most person-to-person mail (${facts.investor.copies} copies); rare word "${facts.rare.word}" in ${facts.rare.messages} messages, ` +
      `common word "${facts.common.word}" in ${facts.common.messages}`,
  );
  const investors = await time(['investors'], store, repetitions, answeredCount);
  log(`  investors: ${investors.wallMs.median} ms median, ${investors.answered} rows`);
  const investor = await time(['investor', String(facts.investor.id)], store, repetitions, answeredCount);
  log(`  investor ${facts.investor.id}: ${investor.wallMs.median} ms median, ${investor.answered} entries`);
  const searchRare = await time(['search', facts.rare.word], store, repetitions, answeredCount);
  log(`  search "${facts.rare.word}": ${searchRare.wallMs.median} ms median, ${searchRare.answered} hits shown`);
  const searchCommon = await time(['search', facts.common.word], store, repetitions, answeredCount);
  log(`  search "${facts.common.word}": ${searchCommon.wallMs.median} ms median, ${searchCommon.answered} hits shown`);
  return {
    storedMessages: store.stored,
    repetitions,
    investors,
    investor: { ...investor, investorCopies: facts.investor.copies },
    searchRare: { ...searchRare, word: facts.rare.word, messagesWithWord: facts.rare.messages },
    searchCommon: { ...searchCommon, word: facts.common.word, messagesWithWord: facts.common.messages },
    indexBytes: facts.index.bytes,
    databaseBytes: facts.index.databaseBytes,
    indexShare: round(facts.index.bytes / facts.index.databaseBytes, 3),
  };
}
