/**
 * The proposal cutoff, `app_settings.email_activity_since`: mail dated (Gmail internalDate)
 * before it is never proposed, so the historical backfill makes no noise. Set to "now" on the
 * first run when absent; an admin's own value is respected; moving it takes --since with --force.
 */
import { ConfigError, UsageError } from '../errors.js';
import type { Db } from '../db/open.js';
import { ACTIVITY_SINCE_KEY, getSetting, setSetting, setSettingIfAbsent } from '../db/settings.js';

export interface CutoffResult {
  /** ISO-8601 as stored (or as it would be stored, in a dry run). */
  cutoff: string;
  cutoffMs: number;
  /** True when this run set the value (first run, or --since --force). */
  cutoffWasSet: boolean;
  /** The earlier value when --since --force replaced one. */
  previous?: string;
}

/** Reads a stored or typed cutoff: ISO date or date-time, or epoch (seconds or milliseconds). */
export function parseCutoff(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d{9,13}$/.test(trimmed)) {
    const number = Number(trimmed);
    return trimmed.length <= 11 ? number * 1000 : number;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isFinite(ms) ? ms : undefined;
}

export interface CutoffOptions {
  since?: string;
  force?: boolean;
  dryRun?: boolean;
  now: Date;
}

export function resolveCutoff(db: Db, options: CutoffOptions, log: (line: string) => void = () => undefined): CutoffResult {
  const stored = getSetting(db, ACTIVITY_SINCE_KEY);

  if (options.since !== undefined) {
    const sinceMs = parseCutoff(options.since);
    if (sinceMs === undefined) throw new UsageError(`--since ${JSON.stringify(options.since)} is not a date: use e.g. 2026-11-01 or 2026-11-01T09:00:00Z.`);
    if (!options.force) {
      throw new UsageError(
        `--since moves the proposal cutoff (now ${stored ?? 'unset'}), which can bring older mail into review; add --force to do it.`,
      );
    }
    const cutoff = new Date(sinceMs).toISOString();
    const storedMs = stored === undefined ? undefined : parseCutoff(stored);
    if (storedMs === sinceMs) {
      log(`cutoff unchanged: ${ACTIVITY_SINCE_KEY} is already ${stored}`);
      return { cutoff: stored!, cutoffMs: sinceMs, cutoffWasSet: false };
    }
    if (!options.dryRun) setSetting(db, ACTIVITY_SINCE_KEY, cutoff);
    log(`cutoff ${options.dryRun ? 'would move' : 'moved'}: ${ACTIVITY_SINCE_KEY} ${stored ?? '(unset)'} -> ${cutoff}`);
    return { cutoff, cutoffMs: sinceMs, cutoffWasSet: !options.dryRun, previous: stored };
  }

  if (stored !== undefined) {
    const storedMs = parseCutoff(stored);
    if (storedMs === undefined) {
      throw new ConfigError(
        `app_settings.${ACTIVITY_SINCE_KEY} = ${JSON.stringify(stored)} is not a date. Fix it in the CRM, or set it with: crm-mail propose --since 2026-11-01 --force`,
      );
    }
    return { cutoff: stored, cutoffMs: storedMs, cutoffWasSet: false };
  }

  const now = options.now.toISOString();
  if (options.dryRun) {
    log(`cutoff: ${ACTIVITY_SINCE_KEY} is not set; a real run would set it to ${now}`);
    return { cutoff: now, cutoffMs: options.now.getTime(), cutoffWasSet: false };
  }
  // Two first runs at once agree on the first writer's value.
  const { value, inserted } = setSettingIfAbsent(db, ACTIVITY_SINCE_KEY, now);
  if (inserted) log(`cutoff: first run, ${ACTIVITY_SINCE_KEY} set to ${value}; mail dated before it is never proposed`);
  return { cutoff: value, cutoffMs: parseCutoff(value) ?? options.now.getTime(), cutoffWasSet: inserted };
}
