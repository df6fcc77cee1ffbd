/**
 * Gmail's two quota models. Which one applies is a property of the firm's Google Cloud project, not
 * of crm-mail: projects that used the Gmail API between November 2025 and April 2026 keep the
 * legacy per-second model; every project created since 2026-05-01 is metered per minute, with
 * gets four times as expensive (Gmail API "Usage limits", developers.google.com/workspace/gmail/api/reference/quota).
 * The Cloud console shows which: APIs & Services > Gmail API > Quotas lists either "Queries per
 * minute per user" (2026) or "Queries per second per user" / 250 (legacy).
 */

import type { QuotaModelName } from '../config.js';

export type { QuotaModelName };

export type GmailMethod =
  | 'users.getProfile'
  | 'labels.list'
  | 'history.list'
  | 'messages.list'
  | 'messages.get'
  | 'messages.attachments.get'
  | 'threads.get'
  | 'threads.list';

export interface QuotaModel {
  name: QuotaModelName;
  /** The window Gmail's per-user limit is counted over. */
  windowMs: number;
  /** Gmail's per-user limit, in units per window. */
  gmailUserLimit: number;
  /** crm-mail's default per-account budget per window: headroom below Gmail's limit. */
  defaultBudget: number;
  /** Gmail's per-project limit in units per minute, shared by every mailbox of the firm. */
  gmailProjectLimitPerMinute: number;
  units: Readonly<Record<GmailMethod, number>>;
}

const LEGACY_UNITS: Record<GmailMethod, number> = {
  'users.getProfile': 1,
  'labels.list': 1,
  'history.list': 2,
  'messages.list': 5,
  'messages.get': 5,
  'messages.attachments.get': 5,
  'threads.get': 10,
  'threads.list': 10,
};

const UNITS_2026: Record<GmailMethod, number> = {
  ...LEGACY_UNITS,
  'messages.get': 20,
  'messages.attachments.get': 20,
  'threads.get': 40,
  // Google's 2026 table names threads.get only; listing threads is taken at the same cost, the safe side.
  'threads.list': 40,
};

export const QUOTA_MODELS: Readonly<Record<QuotaModelName, QuotaModel>> = Object.freeze({
  '2026': Object.freeze({
    name: '2026',
    windowMs: 60_000,
    gmailUserLimit: 6000,
    // 90%: the window is counted from our side of the wire, and another tool may read the same mailbox.
    defaultBudget: 5400,
    gmailProjectLimitPerMinute: 1_200_000,
    units: Object.freeze(UNITS_2026),
  }),
  legacy: Object.freeze({
    name: 'legacy',
    windowMs: 1000,
    gmailUserLimit: 250,
    defaultBudget: 150,
    gmailProjectLimitPerMinute: 1_200_000,
    units: Object.freeze(LEGACY_UNITS),
  }),
});

/** crm-mail's default share of the per-project limit for all accounts together (90%). */
export const DEFAULT_PROJECT_BUDGET_PER_MINUTE = 1_080_000;

export function quotaModel(name: QuotaModelName): QuotaModel {
  return QUOTA_MODELS[name];
}

/** "6,000 units per minute per user, messages.get 20 units": the model in words, for config and doctor. */
export function describeQuotaModel(model: QuotaModel, budget: number): string {
  const per = model.windowMs === 60_000 ? 'minute' : 'second';
  const n = new Intl.NumberFormat('en-US');
  return `${model.name} model: Gmail allows ${n.format(model.gmailUserLimit)} units per ${per} per user, messages.get costs ${model.units['messages.get']}; crm-mail spends at most ${n.format(budget)} per ${per} per account`;
}

/** What a get costs and `budget` units per window of the model amount to per minute. */
export function quotaRateOf(model: QuotaModel, budget: number): { unitsPerGet: number; unitsPerMinute: number } {
  return { unitsPerGet: model.units['messages.get'], unitsPerMinute: (budget * 60_000) / model.windowMs };
}

/**
 * The quota-bound time to fetch `gets` messages one get each at `budget` units per window (the
 * ideal the backfill is measured against, and the basis of the time-left estimate).
 */
export function quotaBoundMs(model: QuotaModel, budget: number, gets: number): number {
  return ((gets * model.units['messages.get']) / budget) * model.windowMs;
}

/**
 * Whether Gmail charged a request that came back as this error. Gmail charges the calls it serves,
 * a 404 or a 400 included; a request refused for quota or concurrency, refused at the door for its
 * credentials, or lost to a 5xx or a dropped connection was never served and costs nothing. The
 * emulator's meter charges the same way (docs/emulator.md).
 */
export function wasCharged(error: { kind: string }): boolean {
  return error.kind === 'not_found' || error.kind === 'history_expired' || error.kind === 'permanent';
}
