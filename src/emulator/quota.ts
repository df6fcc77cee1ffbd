/**
 * Gmail's quota as the emulator meters it (gmail-api-notes §4.0-4.1): two models of per-user limit,
 * the per-project limit both share, an optional per-user concurrency cap, and the counters tests
 * and benchmarks read. Since 2026-05-01 new Cloud projects are metered per minute with dearer
 * reads ('2026'); older projects keep the per-second model ('legacy'). Which model a project has is
 * Google's decision, never crm-mail's, so the emulator serves both and defaults to what a new
 * project gets.
 * Windows run on the real clock: they limit real request rates, whatever the mail clock says.
 */

export type QuotaModelName = '2026' | 'legacy';

export interface QuotaModel {
  name: QuotaModelName;
  /** The rolling window Gmail counts the per-user limit over. */
  windowMs: number;
  /** Gmail's per-user limit in units per window: the default of `quotaUnits`. */
  userUnitsPerWindow: number;
  /** Units per call, by API method. */
  units: Readonly<Record<string, number>>;
}

/** The per-method table of the per-second era (Gmail "Usage limits", older versions). */
const LEGACY_UNITS: Readonly<Record<string, number>> = Object.freeze({
  getProfile: 1,
  'labels.list': 1,
  'labels.get': 1,
  'messages.list': 5,
  'messages.get': 5,
  'messages.attachments.get': 5,
  'history.list': 2,
  'threads.get': 10,
  'threads.list': 10,
});

/**
 * The current table: reads of message content cost four times as much. Google lists threads.get
 * at 40 but says nothing of threads.list; it is charged as threads.get, so a client that budgets
 * for it is never surprised (docs/emulator.md).
 */
const UNITS_2026: Readonly<Record<string, number>> = Object.freeze({
  ...LEGACY_UNITS,
  'messages.get': 20,
  'messages.attachments.get': 20,
  'threads.get': 40,
  'threads.list': 40,
});

export const QUOTA_MODELS: Readonly<Record<QuotaModelName, QuotaModel>> = Object.freeze({
  '2026': Object.freeze({ name: '2026', windowMs: 60_000, userUnitsPerWindow: 6000, units: UNITS_2026 }),
  legacy: Object.freeze({ name: 'legacy', windowMs: 1000, userUnitsPerWindow: 250, units: LEGACY_UNITS }),
});

export const QUOTA_MODEL_NAMES: readonly QuotaModelName[] = ['2026', 'legacy'];

/** The legacy table, for callers that predate the 2026 model. */
export const METHOD_UNITS: Readonly<Record<string, number>> = LEGACY_UNITS;

/** Methods outside both tables (none is routed today) cost what most reads cost. */
const UNLISTED_METHOD_UNITS = 5;

export function unitsFor(model: QuotaModelName, method: string): number {
  return QUOTA_MODELS[model].units[method] ?? UNLISTED_METHOD_UNITS;
}

export function isQuotaModelName(value: unknown): value is QuotaModelName {
  return QUOTA_MODEL_NAMES.includes(value as QuotaModelName);
}

/** The project limit is per minute under both models. */
export const PROJECT_WINDOW_MS = 60_000;
export const DEFAULT_PROJECT_UNITS_PER_MINUTE = 1_200_000;

export interface QuotaSettings {
  model: QuotaModelName;
  /** The per-user window of the model (60,000 under 2026, 1,000 under legacy). */
  windowMs: number;
  /** Per-user units per window; 0 = no per-user limit. */
  userUnitsPerWindow: number;
  /** Units per minute for all users together; 0 = no project limit. */
  projectUnitsPerMinute: number;
  /** Per-user requests in flight; 0 = no cap. */
  maxConcurrentPerUser: number;
  units: Readonly<Record<string, number>>;
}

export interface MethodCount {
  calls: number;
  units: number;
}

export interface Counters {
  calls: number;
  units: number;
  /** Calls refused by quota, the concurrency cap or an injected fault. */
  refused: number;
  /** Calls refused by the per-user or the per-project quota (never charged). */
  refusedQuota: number;
  /** Calls refused by the per-user concurrency cap. */
  refusedConcurrency: number;
  /**
   * The most units charged inside any one window of the model (rolling, 60 s under 2026, 1 s under
   * legacy), counted also when the per-user limit is off. For one user: that user's; in the
   * totals: all users' together.
   */
  peakWindowUnits: number;
  byMethod: Record<string, MethodCount>;
}

/**
 * Units charged inside the rolling window (now − windowMs, now], and the most it ever held. The
 * sum is taken at every charge: a window holding the most units can always be slid to end on a
 * charge without losing any, so the peak is exact, not sampled.
 */
export class RollingWindow {
  private readonly times: number[] = [];
  private readonly amounts: number[] = [];
  private head = 0;
  private sum = 0;
  private highest = 0;

  constructor(readonly windowMs: number) {}

  spent(now: number): number {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - this.windowMs) {
      this.sum -= this.amounts[this.head] as number;
      this.head++;
    }
    // Dropping the expired head in chunks keeps the pruning amortized O(1) per charge.
    if (this.head > 4096) {
      this.times.splice(0, this.head);
      this.amounts.splice(0, this.head);
      this.head = 0;
    }
    return this.sum;
  }

  add(now: number, units: number): void {
    this.spent(now);
    this.times.push(now);
    this.amounts.push(units);
    this.sum += units;
    if (this.sum > this.highest) this.highest = this.sum;
  }

  get peak(): number {
    return this.highest;
  }
}

export type ChargeVerdict = 'charged' | 'user-limit' | 'project-limit';

type RefusalCause = 'quota' | 'concurrency' | 'fault';

/** One user's counters; its own window so that a reset also restarts the peak. */
class Tally {
  calls = 0;
  units = 0;
  refused = 0;
  refusedQuota = 0;
  refusedConcurrency = 0;
  byMethod: Record<string, MethodCount> = {};
  readonly charged: RollingWindow;

  constructor(windowMs: number) {
    this.charged = new RollingWindow(windowMs);
  }

  served(method: string, units: number, now: number): void {
    this.call(method, units);
    this.charged.add(now, units);
  }

  refusedBy(method: string, cause: RefusalCause): void {
    this.call(method, 0);
    this.refused++;
    if (cause === 'quota') this.refusedQuota++;
    if (cause === 'concurrency') this.refusedConcurrency++;
  }

  private call(method: string, units: number): void {
    this.calls++;
    this.units += units;
    const m = (this.byMethod[method] ??= { calls: 0, units: 0 });
    m.calls++;
    m.units += units;
  }

  snapshot(): Counters {
    return {
      calls: this.calls,
      units: this.units,
      refused: this.refused,
      refusedQuota: this.refusedQuota,
      refusedConcurrency: this.refusedConcurrency,
      peakWindowUnits: this.charged.peak,
      byMethod: structuredClone(this.byMethod),
    };
  }
}

const emptyCounters = (): Counters => ({ calls: 0, units: 0, refused: 0, refusedQuota: 0, refusedConcurrency: 0, peakWindowUnits: 0, byMethod: {} });

export interface QuotaLimits {
  model: QuotaModelName;
  userUnitsPerWindow: number;
  projectUnitsPerMinute: number;
  maxConcurrentPerUser: number;
}

export class QuotaMeter {
  readonly settings: Readonly<QuotaSettings>;
  private readonly userWindows = new Map<string, RollingWindow>();
  private readonly projectWindow = new RollingWindow(PROJECT_WINDOW_MS);
  private readonly inFlight = new Map<string, number>();
  private tallies = new Map<string, Tally>();
  private allUsersCharged: RollingWindow;

  constructor(
    limits: QuotaLimits,
    private readonly clock: () => number = () => performance.now(),
  ) {
    const model = QUOTA_MODELS[limits.model];
    this.settings = Object.freeze({
      model: model.name,
      windowMs: model.windowMs,
      userUnitsPerWindow: Math.max(0, limits.userUnitsPerWindow),
      projectUnitsPerMinute: Math.max(0, limits.projectUnitsPerMinute),
      maxConcurrentPerUser: Math.max(0, limits.maxConcurrentPerUser),
      units: model.units,
    });
    this.allUsersCharged = new RollingWindow(model.windowMs);
  }

  unitsFor(method: string): number {
    return unitsFor(this.settings.model, method);
  }

  /**
   * Charges a call its method's units, or refuses it without charging when either limit would be
   * exceeded (the per-user limit is named first when both are). Counts the call either way.
   */
  charge(user: string, method: string): ChargeVerdict {
    const units = this.unitsFor(method);
    const now = this.clock();
    const verdict = this.verdict(user, units, now);
    if (verdict === 'charged') {
      this.chargeLimits(user, units, now);
      this.tallyOf(user).served(method, units, now);
      this.allUsersCharged.add(now, units);
    } else {
      this.tallyOf(user).refusedBy(method, 'quota');
    }
    return verdict;
  }

  /** Counts a call refused before it reached the quota: by the concurrency cap or a fault. */
  refuse(user: string, method: string, cause: 'concurrency' | 'fault'): void {
    this.tallyOf(user).refusedBy(method, cause);
  }

  /** Admits a call under the per-user concurrency cap; false when the cap is reached. */
  enter(user: string): boolean {
    const current = this.inFlight.get(user) ?? 0;
    const cap = this.settings.maxConcurrentPerUser;
    if (cap > 0 && current >= cap) return false;
    this.inFlight.set(user, current + 1);
    return true;
  }

  leave(user: string): void {
    const current = this.inFlight.get(user) ?? 0;
    if (current <= 1) this.inFlight.delete(user);
    else this.inFlight.set(user, current - 1);
  }

  read(user?: string): Counters {
    if (user !== undefined) return this.tallies.get(user.toLowerCase())?.snapshot() ?? emptyCounters();
    const total = emptyCounters();
    for (const tally of this.tallies.values()) addInto(total, tally.snapshot());
    total.peakWindowUnits = this.allUsersCharged.peak;
    return total;
  }

  /** Per-user counters, for GET /emulator/counters. */
  readAll(): Record<string, Counters> {
    return Object.fromEntries([...this.tallies.entries()].map(([user, tally]) => [user, tally.snapshot()]));
  }

  /** Clears the counters; the limits keep what they have charged, as Gmail would. */
  reset(): void {
    this.tallies = new Map();
    this.allUsersCharged = new RollingWindow(this.settings.windowMs);
  }

  private verdict(user: string, units: number, now: number): ChargeVerdict {
    const { userUnitsPerWindow, projectUnitsPerMinute } = this.settings;
    if (userUnitsPerWindow > 0 && this.userWindow(user).spent(now) + units > userUnitsPerWindow) return 'user-limit';
    if (projectUnitsPerMinute > 0 && this.projectWindow.spent(now) + units > projectUnitsPerMinute) return 'project-limit';
    return 'charged';
  }

  private chargeLimits(user: string, units: number, now: number): void {
    if (this.settings.userUnitsPerWindow > 0) this.userWindow(user).add(now, units);
    if (this.settings.projectUnitsPerMinute > 0) this.projectWindow.add(now, units);
  }

  private userWindow(user: string): RollingWindow {
    let window = this.userWindows.get(user);
    if (!window) {
      window = new RollingWindow(this.settings.windowMs);
      this.userWindows.set(user, window);
    }
    return window;
  }

  private tallyOf(user: string): Tally {
    let tally = this.tallies.get(user);
    if (!tally) {
      tally = new Tally(this.settings.windowMs);
      this.tallies.set(user, tally);
    }
    return tally;
  }
}

function addInto(total: Counters, c: Counters): void {
  total.calls += c.calls;
  total.units += c.units;
  total.refused += c.refused;
  total.refusedQuota += c.refusedQuota;
  total.refusedConcurrency += c.refusedConcurrency;
  for (const [method, m] of Object.entries(c.byMethod)) {
    const t = (total.byMethod[method] ??= { calls: 0, units: 0 });
    t.calls += m.calls;
    t.units += m.units;
  }
}
