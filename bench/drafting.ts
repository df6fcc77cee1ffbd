/**
 * Drafting figures (issue 7), measured on this machine, never asserted in tests:
 * - tiny-model load time (validate header + getLlama + load + context), median of 3;
 * - notes per second and tokens per note with the tiny model (one thread, real node-llama-cpp);
 * - an end-to-end `propose` of 500 pending candidates with the rule drafter.
 *
 * Run: npm run build && node dist/bench/drafting.js [--json]
 * Everything is local: a temporary folder, a generated model, a fresh SQLite file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyModel } from '../src/activity/tinyModel.js';
import { LlamaDrafter } from '../src/activity/llamaDrafter.js';
import { runPropose } from '../src/activity/propose.js';
import { newPartOfBody } from '../src/activity/text.js';
import type { DraftInput } from '../src/activity/drafter.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { openDatabase, type Db } from '../src/db/open.js';

export interface DraftingFigures {
  modelBytes: number;
  modelLoadMs: number[];
  modelLoadMedianMs: number;
  /** Median of the model-file part alone (llama.loadModel), without the native binding's start. */
  modelFileLoadMedianMs: number;
  bindingLoadMedianMs: number;
  notes: number;
  notesPerSecond: number;
  msPerNote: number;
  inputTokensPerNote: number;
  outputTokensPerNote: number;
  ruleProposeCandidates: number;
  ruleProposeMs: number;
  ruleProposePerSecond: number;
  llamaProposeCandidates: number;
  llamaProposeMs: number;
}

const BODIES = [
  'Hi Ann,\n\nThanks for your time today. As promised, the Fund III deck and the draft LPA are attached. Could we book a call next week to walk through the fee terms?\n\nBest,\nJane\n\nOn Tue, Ann Lee wrote:\n> Looking forward to it.',
  'Jane, we reviewed the materials with our IC. We would like to commit 5m at first close, subject to the side letter on reporting. Legal will send comments by Friday.',
  'Dear Charles,\n\nThe data room is open; you should have received an invitation. Let me know if the quarterly reports are what you need for diligence.\n\n-- \nJane Doe\nPartner, Northwind',
  'Quick follow up: are you still planning to attend the annual meeting on the 12th? We can also set up a one-on-one with the team.',
];

function projectRoot(): string {
  // dist/bench/drafting.js -> the package root two folders up.
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function freshCrm(path: string): Promise<Db> {
  const db = openDatabase(path);
  await migrate(db, { dbPath: path, backup: false, dryRun: false });
  db.exec(readFileSync(join(projectRoot(), 'fixtures', 'crm-seed.sql'), 'utf8'));
  db.prepare("INSERT INTO email_accounts (user_id, email) VALUES (1, 'jane@northwind.vc')").run();
  db.prepare("INSERT INTO app_settings (key, value) VALUES ('email_activity_since', '2026-01-01')").run();
  return db;
}

function addCandidates(db: Db, count: number, prefix: string): void {
  const email = db.prepare(
    `INSERT INTO emails (account_id, gmail_id, message_key, rfc_message_id, subject, from_address, from_name, to_json, cc_json,
                         internal_date_ms, direction, body_text)
     VALUES (1, ?, ?, ?, ?, 'jane@northwind.vc', 'Jane Doe', ?, '[]', ?, 'sent', ?)`,
  );
  const match = db.prepare("INSERT INTO email_investor_matches (email_id, investor_id, strategy, matched_address) VALUES (?, 1, 'exact', 'ann.lee@harborview-pension.com')");
  const to = JSON.stringify([{ address: 'ann.lee@harborview-pension.com', name: 'Ann Lee' }]);
  db.transaction(() => {
    for (let index = 0; index < count; index++) {
      const key = `${prefix}${index}@bench`;
      const id = email.run(`${prefix}${index}`, key, `<${key}>`, `Fund III, topic ${index}`, to, Date.parse('2026-02-01') + index * 60_000, BODIES[index % BODIES.length]).lastInsertRowid;
      match.run(id);
    }
  })();
}

export interface DraftingOptions {
  /** A GGUF model to measure instead of the generated tiny one (the suite passes CRM_MAIL_MODEL). */
  modelPath?: string;
  /** CPU threads for the model; default 1 (the tiny model gains nothing from more). */
  threads?: number;
}

export async function benchDrafting(log: (line: string) => void = () => undefined, options: DraftingOptions = {}): Promise<DraftingFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-mail-bench-drafting-'));
  try {
    const modelPath = options.modelPath ?? join(dir, 'tiny.gguf');
    if (!options.modelPath) writeTinyModel(modelPath);
    const modelBytes = statSync(modelPath).size;
    const threads = options.threads ?? 1;
    const modelName = options.modelPath ? basename(modelPath) : 'tiny model';

    const modelLoadMs: number[] = [];
    const modelFileMs: number[] = [];
    const bindingMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const drafter = await LlamaDrafter.open({ modelPath, threads });
      modelLoadMs.push(drafter.loadMs);
      modelFileMs.push(drafter.timings.modelMs);
      bindingMs.push(drafter.timings.bindingMs);
      await drafter.close();
    }
    log(
      `${modelName} (${Math.round(modelBytes / 1024)} KB) ready in ${modelLoadMs.map((ms) => Math.round(ms)).join(', ')} ms ` +
        `(native binding ${bindingMs.map((ms) => Math.round(ms)).join(', ')} ms; model file ${modelFileMs.map((ms) => Math.round(ms)).join(', ')} ms)`,
    );

    const drafter = await LlamaDrafter.open({ modelPath, threads });
    const notes = 20;
    let tokensIn = 0;
    let tokensOut = 0;
    const started = performance.now();
    for (let index = 0; index < notes; index++) {
      const input: DraftInput = {
        direction: index % 2 === 0 ? 'sent' : 'received',
        subject: `Re: Fund III, topic ${index}`,
        from: 'Jane Doe <jane@northwind.vc>',
        to: ['Ann Lee <ann.lee@harborview-pension.com>'],
        cc: [],
        date: '2026-11-28',
        newText: newPartOfBody(BODIES[index % BODIES.length]),
      };
      const draft = await drafter.draft(input);
      tokensIn += draft.tokensIn ?? 0;
      tokensOut += draft.tokensOut ?? 0;
    }
    const draftingMs = performance.now() - started;
    await drafter.close();
    log(`${modelName} drafting: ${notes} notes in ${Math.round(draftingMs)} ms (${(notes / (draftingMs / 1000)).toFixed(1)} notes/s), ${Math.round(tokensIn / notes)} input / ${Math.round(tokensOut / notes)} output tokens per note`);

    const ruleDb = await freshCrm(join(dir, 'rule.db'));
    addCandidates(ruleDb, 500, 'r');
    const rule = await runPropose(ruleDb, loadConfig({ CRM_MAIL_DRAFTER: 'rule' }), { limit: 500 });
    ruleDb.close();
    log(`propose, rule drafter: ${rule.proposed} of ${rule.candidates} candidates in ${Math.round(rule.durationMs)} ms`);

    const llamaDb = await freshCrm(join(dir, 'llama.db'));
    addCandidates(llamaDb, 20, 'l');
    const llama = await runPropose(llamaDb, loadConfig({ CRM_MAIL_MODEL: modelPath, CRM_MAIL_MODEL_THREADS: String(threads) }), { limit: 20 });
    llamaDb.close();
    log(`propose, llama drafter (${modelName}, ${threads} thread${threads === 1 ? '' : 's'}): ${llama.proposed} candidates in ${Math.round(llama.durationMs)} ms including the model load`);

    return {
      modelBytes,
      modelLoadMs: modelLoadMs.map((ms) => Math.round(ms)),
      modelLoadMedianMs: Math.round(median(modelLoadMs)),
      modelFileLoadMedianMs: Math.round(median(modelFileMs)),
      bindingLoadMedianMs: Math.round(median(bindingMs)),
      notes,
      notesPerSecond: Number((notes / (draftingMs / 1000)).toFixed(2)),
      msPerNote: Math.round(draftingMs / notes),
      inputTokensPerNote: Math.round(tokensIn / notes),
      outputTokensPerNote: Math.round(tokensOut / notes),
      ruleProposeCandidates: rule.proposed,
      ruleProposeMs: Math.round(rule.durationMs),
      ruleProposePerSecond: Math.round(rule.proposed / (rule.durationMs / 1000)),
      llamaProposeCandidates: llama.proposed,
      llamaProposeMs: Math.round(llama.durationMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly: print the figures (as JSON with --json).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const json = process.argv.includes('--json');
  const figures = await benchDrafting(json ? undefined : (line) => console.log(line));
  if (json) console.log(JSON.stringify(figures, null, 2));
}
