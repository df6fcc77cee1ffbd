/**
 * email_sync_runs: one row per sync of one account, written when the run starts (status running)
 * and completed when it ends, so a killed run leaves a row that the next sync closes as interrupted.
 */
import type { Db } from './open.js';
import { nowIso } from './open.js';

export type RunKind = 'backfill' | 'incremental' | 'relist' | 'remote_rematch';
export type RunStatus = 'running' | 'ok' | 'partial' | 'error';

export interface RunCounts {
  listed: number;
  fetched: number;
  stored: number;
  matched: number;
  deleted: number;
  labelChanges: number;
  attachmentsStored: number;
  apiCalls: number;
  apiUnits: number;
  retries: number;
  throttled: number;
  /** Messages that still failed after their retries: recorded for the next run, never given up. */
  deferred: number;
}

export function emptyCounts(): RunCounts {
  return { listed: 0, fetched: 0, stored: 0, matched: 0, deleted: 0, labelChanges: 0, attachmentsStored: 0, apiCalls: 0, apiUnits: 0, retries: 0, throttled: 0, deferred: 0 };
}

export interface SyncRun extends RunCounts {
  id: number;
  accountId: number;
  kind: RunKind;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  details: Record<string, unknown> | null;
}

interface RunRow {
  id: number;
  account_id: number;
  kind: RunKind;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  listed: number;
  fetched: number;
  stored: number;
  matched: number;
  deleted: number;
  label_changes: number;
  attachments_stored: number;
  api_calls: number;
  api_units: number;
  retries: number;
  throttled: number;
  deferred: number;
  error: string | null;
  details: string | null;
}

function parseDetails(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unreadable: text };
  }
}

function toRun(row: RunRow): SyncRun {
  return {
    id: row.id,
    accountId: row.account_id,
    kind: row.kind,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    listed: row.listed,
    fetched: row.fetched,
    stored: row.stored,
    matched: row.matched,
    deleted: row.deleted,
    labelChanges: row.label_changes,
    attachmentsStored: row.attachments_stored,
    apiCalls: row.api_calls,
    apiUnits: row.api_units,
    retries: row.retries,
    throttled: row.throttled,
    deferred: row.deferred,
    error: row.error,
    details: parseDetails(row.details),
  };
}

export function startRun(db: Db, accountId: number, kind: RunKind, startedAt: string = nowIso()): number {
  const info = db.prepare('INSERT INTO email_sync_runs (account_id, kind, status, started_at) VALUES (?, ?, ?, ?)').run(accountId, kind, 'running', startedAt);
  return Number(info.lastInsertRowid);
}

/** A run may change path midway (incremental whose cursor expired becomes a re-list). */
export function setRunKind(db: Db, runId: number, kind: RunKind): void {
  db.prepare('UPDATE email_sync_runs SET kind = ? WHERE id = ?').run(kind, runId);
}

/** Writes the counts so far; called after each committed page so a killed run still shows its progress. */
export function saveRunProgress(db: Db, runId: number, counts: RunCounts, details?: Record<string, unknown>): void {
  db.prepare(
    `UPDATE email_sync_runs SET listed = ?, fetched = ?, stored = ?, matched = ?, deleted = ?, label_changes = ?,
       attachments_stored = ?, api_calls = ?, api_units = ?, retries = ?, throttled = ?, deferred = ?, details = coalesce(?, details) WHERE id = ?`,
  ).run(
    counts.listed,
    counts.fetched,
    counts.stored,
    counts.matched,
    counts.deleted,
    counts.labelChanges,
    counts.attachmentsStored,
    counts.apiCalls,
    counts.apiUnits,
    counts.retries,
    counts.throttled,
    counts.deferred,
    details ? JSON.stringify(details) : null,
    runId,
  );
}

export function finishRun(
  db: Db,
  runId: number,
  result: { status: Exclude<RunStatus, 'running'>; counts: RunCounts; error?: string | null; details?: Record<string, unknown>; finishedAt?: Date },
): void {
  const finished = result.finishedAt ?? new Date();
  const started = db.prepare('SELECT started_at FROM email_sync_runs WHERE id = ?').get(runId) as { started_at: string } | undefined;
  const duration = started ? Math.max(0, finished.getTime() - Date.parse(started.started_at)) : null;
  saveRunProgress(db, runId, result.counts, result.details);
  db.prepare('UPDATE email_sync_runs SET status = ?, finished_at = ?, duration_ms = ?, error = ? WHERE id = ?').run(
    result.status,
    nowIso(finished),
    duration,
    result.error ?? null,
    runId,
  );
}

/**
 * Closes runs left 'running' by a process that died (SIGKILL, power loss). Only called while holding
 * the sync lease, so no live run can be among them.
 */
export function closeInterruptedRuns(db: Db): number {
  const info = db
    .prepare(
      `UPDATE email_sync_runs SET status = CASE WHEN stored > 0 OR deleted > 0 THEN 'partial' ELSE 'error' END,
         error = 'interrupted: the process ended before the run finished; the next run resumed from the last checkpoint',
         finished_at = coalesce(finished_at, ?) WHERE status = 'running'`,
    )
    .run(nowIso());
  return info.changes;
}

export function lastRun(db: Db, accountId: number): SyncRun | undefined {
  const row = db.prepare('SELECT * FROM email_sync_runs WHERE account_id = ? ORDER BY id DESC LIMIT 1').get(accountId) as RunRow | undefined;
  return row ? toRun(row) : undefined;
}
