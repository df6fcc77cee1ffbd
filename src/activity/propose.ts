/**
 * The propose step: select logical messages matched to investors after the cutoff, draft one
 * line for each (message, investor) pair, and queue it as a PENDING proposal. Nothing here writes
 * an investor's notes; a partner decides in `crm-mail review`.
 *
 * Bounded per run (`limit`), idempotent (a second run finds nothing new) and safe to run twice at
 * once: the unique (message_key, investor_id) key, not a check, keeps one proposal per pair.
 */
import { availableParallelism } from 'node:os';
import type { Config } from '../config.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Db } from '../db/open.js';
import { nowIso } from '../db/open.js';
import {
  countCandidates,
  insertProposals,
  loadSourceEmail,
  selectCandidates,
  usersByAddress,
  type NewProposal,
  type SourceEmail,
} from '../db/proposals.js';
import { resolveCutoff } from './cutoff.js';
import type { Draft, DraftInput, Drafter, DrafterKind } from './drafter.js';
import { buildNoteLine, noteDate, type NoteDirection } from './noteLine.js';
import { RuleDrafter } from './ruleDrafter.js';
import { newPartOfBody } from './text.js';
import { parseAddressCell } from '../mail/addresses.js';

export interface ProposeOptions {
  /** Candidates handled per run; default 50. */
  limit?: number;
  /** Draft and report, write nothing (not even the first-run cutoff). */
  dryRun?: boolean;
  drafter?: DrafterKind;
  /** Move the cutoff (needs force). */
  since?: string;
  force?: boolean;
  now?: Date;
}

export interface ProposeResult {
  cutoff: string;
  cutoffWasSet: boolean;
  /** Candidates taken up by this run (at most the limit). */
  candidates: number;
  proposed: number;
  /** Candidates another run proposed first (the unique key refused this run's insert). */
  skippedExisting: number;
  /** Candidates left for later runs (counted after this run's inserts). */
  remaining: number;
  /** Candidates whose drafting failed; they stay candidates for the next run. */
  failed: number;
  drafter: string;
  model?: string;
  /** Model load time (llama drafter only). */
  loadMs?: number;
  durationMs: number;
  tokensIn?: number;
  tokensOut?: number;
  /** The drafted lines, in a dry run. */
  preview?: Array<{ messageKey: string; investorId: number; note: string }>;
}

export const DEFAULT_LIMIT = 50;
// Drafted proposals are written in small transactions: one disk sync per row made a 500-candidate
// rule run take seconds, while keeping a whole model run for the end would lose every finished
// draft if cron killed the run. A batch closes at 25 rows or after one second.
const BATCH_ROWS = 25;
const BATCH_MS = 1000;
// A model that fails three messages in a row is failing, not the messages: stop the run there
// (the rest stay candidates) instead of logging the same error fifty times.
const CONSECUTIVE_FAILURES_MAX = 3;

export const NO_DRAFTER_MESSAGE =
  'no drafter is configured, so no activity notes can be drafted. To draft with a local model, set CRM_MAIL_MODEL ' +
  'to the path of a GGUF model file (a small instruct model, e.g. 1-3B parameters at Q4_K_M; optionally ' +
  'CRM_MAIL_MODEL_THREADS). For firms without a model yet, choose the rule drafter explicitly: ' +
  'CRM_MAIL_DRAFTER=rule, or crm-mail propose --drafter rule.';

/** Which drafter a run uses: the explicit choice, else llama when a model is set, else a ConfigError. */
export function resolveDrafterKind(config: Pick<Config, 'drafter' | 'modelPath'>, requested?: DrafterKind): DrafterKind {
  const kind = requested ?? config.drafter ?? (config.modelPath ? 'llama' : undefined);
  if (kind === undefined) throw new ConfigError(NO_DRAFTER_MESSAGE);
  if (kind === 'llama' && !config.modelPath) {
    throw new ConfigError('the llama drafter needs CRM_MAIL_MODEL, the path of a GGUF model file (or use --drafter rule).');
  }
  return kind;
}

export async function openDrafter(kind: DrafterKind, config: Pick<Config, 'modelPath' | 'modelThreads'>, log?: (line: string) => void): Promise<Drafter & { loadMs?: number }> {
  if (kind === 'rule') return new RuleDrafter();
  const { LlamaDrafter } = await import('./llamaDrafter.js');
  return LlamaDrafter.open({ modelPath: config.modelPath!, threads: config.modelThreads ?? availableParallelism(), log });
}

/** The addresses of a stored address list (emails.to_json / cc_json), lower-case; their display names are not read. */
function addressesIn(json: string | null): string[] {
  if (!json) return [];
  try {
    const value = JSON.parse(json) as unknown;
    if (!Array.isArray(value)) return [];
    return value
      .filter((item): item is { address: unknown } => typeof item === 'object' && item !== null)
      .filter((item) => typeof item.address === 'string' && item.address !== '')
      .map((item) => String(item.address).toLowerCase());
  } catch {
    return [];
  }
}

type NameOf = (address: string) => string;

/**
 * The name a line gives a participant, from the CRM only: a user's name, else the name the
 * investor's email cell gives that address, else the bare address. A display name in the mail is
 * never used: anyone can write "Ann Lee: commitment approved 50M" there.
 */
function crmNames(db: Db, source: SourceEmail, addresses: readonly string[]): { nameOf: NameOf; users: ReturnType<typeof usersByAddress> } {
  const users = usersByAddress(db, [...addresses]);
  const contacts = new Map<string, string>();
  for (const entry of parseAddressCell(source.investorEmailCell)) if (entry.name) contacts.set(entry.address, entry.name);
  const nameOf: NameOf = (address) => {
    const key = address.toLowerCase();
    const user = users.get(key);
    return (user ? (user.name ?? user.email) : undefined) ?? contacts.get(key) ?? key;
  };
  return { nameOf, users };
}

function participantsOf(source: SourceEmail): string[] {
  const from = source.fromAddress ? [source.fromAddress.toLowerCase()] : [];
  return [...from, ...addressesIn(source.toJson), ...addressesIn(source.ccJson)];
}

/** Who the line names: the firm's partners on the message and the investor's contacts, by their CRM names. */
export function describePeople(db: Db, source: SourceEmail): { partners: string[]; contacts: string[] } {
  const participants = participantsOf(source);
  const { nameOf, users } = crmNames(db, source, participants);
  const partners: string[] = [];
  for (const address of participants) {
    const name = users.has(address) ? nameOf(address) : undefined;
    if (name && !partners.includes(name)) partners.push(name);
  }
  const contacts = source.matchedAddresses.map(nameOf);
  return { partners: partners.length > 0 ? partners : source.mailboxOwners, contacts: contacts.length > 0 ? contacts : [source.investorName] };
}

function draftInput(db: Db, source: SourceEmail, direction: NoteDirection, dateMs: number): DraftInput {
  const { nameOf } = crmNames(db, source, participantsOf(source));
  const shown = (address: string): string => {
    const name = nameOf(address);
    return name === address ? address : `${name} <${address}>`;
  };
  return {
    direction,
    subject: source.subject ?? '',
    from: source.fromAddress ? shown(source.fromAddress.toLowerCase()) : '',
    to: addressesIn(source.toJson).map(shown),
    cc: addressesIn(source.ccJson).map(shown),
    date: noteDate(dateMs),
    newText: newPartOfBody(source.bodyText ?? source.snippet ?? ''),
  };
}

/** The summary of mail whose mailbox shares metadata only: no subject or body was stored to draft from. */
export const METADATA_ONLY_SUMMARY: Record<NoteDirection, string> = {
  sent: 'Wrote (content not shared by the mailbox)',
  received: 'They wrote (content not shared by the mailbox)',
};

function positiveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number of at least 1 (got ${limit}).`);
  return limit;
}

export async function runPropose(db: Db, config: Config, options: ProposeOptions, log: (line: string) => void = () => undefined): Promise<ProposeResult> {
  const started = performance.now();
  const limit = positiveLimit(options.limit);
  // Refuse before touching anything: a misconfigured run changes nothing, not even the cutoff.
  const kind = resolveDrafterKind(config, options.drafter);
  const cutoff = resolveCutoff(db, { since: options.since, force: options.force, dryRun: options.dryRun, now: options.now ?? new Date() }, log);

  const total = countCandidates(db, cutoff.cutoffMs);
  const keys = selectCandidates(db, cutoff.cutoffMs, limit);
  const result: ProposeResult = {
    cutoff: cutoff.cutoff,
    cutoffWasSet: cutoff.cutoffWasSet,
    candidates: keys.length,
    proposed: 0,
    skippedExisting: 0,
    remaining: Math.max(0, total - keys.length),
    failed: 0,
    drafter: kind,
    durationMs: 0,
    preview: options.dryRun ? [] : undefined,
  };
  if (keys.length === 0) {
    result.durationMs = performance.now() - started;
    return result;
  }

  // The model is loaded only when there is work, so a quiet cron run stays fast.
  const drafter = await openDrafter(kind, config, log);
  result.model = drafter.model;
  result.loadMs = drafter.loadMs;
  let tokensIn = 0;
  let tokensOut = 0;
  const batch: NewProposal[] = [];
  let batchOpenedAt = 0;
  const flush = () => {
    if (batch.length === 0) return;
    for (const created of insertProposals(db, batch)) {
      if (created) result.proposed++;
      else result.skippedExisting++;
    }
    batch.length = 0;
  };
  let consecutiveFailures = 0;
  try {
    for (const key of keys) {
      if (consecutiveFailures >= CONSECUTIVE_FAILURES_MAX) {
        log(`drafting stopped after ${consecutiveFailures} failures in a row; the remaining candidates wait for the next run`);
        break;
      }
      const source = loadSourceEmail(db, key.messageKey, key.investorId);
      if (!source || (source.direction !== 'sent' && source.direction !== 'received')) continue;
      const direction: NoteDirection = source.direction;
      let draft: Draft;
      const metadataOnly = source.withheld === 'subject';
      try {
        // Nothing but headers was kept: the line says who wrote to whom and when, never more.
        draft = metadataOnly ? { summary: METADATA_ONLY_SUMMARY[direction] } : await drafter.draft(draftInput(db, source, direction, key.dateMs));
        tokensIn += draft.tokensIn ?? 0;
        tokensOut += draft.tokensOut ?? 0;
        consecutiveFailures = 0;
      } catch (error) {
        result.failed++;
        consecutiveFailures++;
        log(`drafting failed for message ${source.rfcMessageId ?? key.messageKey} (investor ${key.investorId}): ${(error as Error).message}`);
        continue;
      }
      const people = describePeople(db, source);
      const note = buildNoteLine({ dateMs: key.dateMs, direction, partners: people.partners, contacts: people.contacts, summary: draft.summary });
      if (options.dryRun) {
        result.preview!.push({ messageKey: key.messageKey, investorId: key.investorId, note });
        continue;
      }
      if (batch.length === 0) batchOpenedAt = performance.now();
      batch.push({
        messageKey: key.messageKey,
        emailId: source.emailId,
        investorId: key.investorId,
        direction,
        messageDateMs: key.dateMs,
        draftedNote: note,
        drafter: metadataOnly ? 'metadata' : kind,
        model: metadataOnly ? null : (drafter.model ?? null),
        tokensIn: draft.tokensIn ?? null,
        tokensOut: draft.tokensOut ?? null,
        createdAt: nowIso(),
      });
      if (batch.length >= BATCH_ROWS || performance.now() - batchOpenedAt >= BATCH_MS) flush();
    }
    flush();
  } finally {
    try {
      flush(); // keep what was drafted before a failure
    } finally {
      await drafter.close();
    }
  }
  // Counted again: drafts that failed, and candidates left after a stop, are still candidates.
  if (!options.dryRun) result.remaining = countCandidates(db, cutoff.cutoffMs);
  if (kind === 'llama') {
    result.tokensIn = tokensIn;
    result.tokensOut = tokensOut;
  }
  result.durationMs = performance.now() - started;
  return result;
}
