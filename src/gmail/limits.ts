/**
 * The two per-account limits every Gmail call passes through: a quota meter in Gmail units (what
 * Google meters) and a cap on requests in flight (Gmail also limits concurrency per user).
 */

export type Clock = () => number;
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface QuotaLimiterOptions {
  /** Units allowed in any one window (the budget). Either this or unitsPerSec. */
  unitsPerWindow?: number;
  /** Units per second; the budget is this times the window in seconds (legacy shorthand). */
  unitsPerSec?: number;
  /** The moving window, default 1000 ms (Gmail's legacy model; 60,000 ms under the 2026 model). */
  windowMs?: number;
  /** Extra margin after the window, default 5 ms (timer and clock granularity). */
  guardMs?: number;
  /** Lowest share of the budget that refusals may push it down to, default 0.5. */
  floorShare?: number;
  now?: Clock;
}

interface Spend {
  units: number;
  /** When the request's answer came back; undefined while it is in flight. */
  end?: number;
}

interface Waiter {
  units: number;
  queuedAt: number;
  grant(release: () => void): void;
}

/**
 * The account's quota meter in Gmail units: at most `capacity` units in any window, served first
 * come, first served.
 *
 * Gmail meters the per-user limit over a moving window (one second under the legacy model, one
 * minute under the 2026 model), and the emulator as a moving window of arrivals. A request arrives
 * at Gmail at some moment between our send and its answer, so a spend is counted from the moment it
 * is granted until one window after its ANSWER came back. That is conservative by one round trip,
 * and it never exceeds the configured rate at Gmail however uneven the latency (a classic refill
 * bucket, or a window counted from the send, does when a slow answer hides an early arrival). An
 * idle account may spend a full window's worth at once.
 */
export class QuotaLimiter {
  readonly windowMs: number;
  /** The configured budget per window. */
  readonly budget: number;
  /** Units allowed per window now: the budget, lowered by refusals Gmail sent although we were under it. */
  capacity: number;
  private readonly floor: number;
  private readonly guardMs: number;
  private readonly now: Clock;
  private spends: Spend[] = [];
  private readonly queue: Waiter[] = [];
  private notBefore = 0;
  private lastRefusal = Number.NEGATIVE_INFINITY;
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Total units granted, for tests and stats. */
  granted = 0;
  /** Time spent with requests waiting for the window (ms), for --verbose and figures. */
  waitedMs = 0;

  constructor(options: QuotaLimiterOptions) {
    this.windowMs = options.windowMs ?? 1000;
    const budget = options.unitsPerWindow ?? ((options.unitsPerSec ?? 0) * this.windowMs) / 1000;
    if (!(budget > 0)) throw new RangeError('the quota budget must be positive');
    this.budget = budget;
    this.capacity = budget;
    this.floor = budget * (options.floorShare ?? 0.5);
    this.guardMs = options.guardMs ?? 5;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Waits until `units` may be spent and returns the release to call when the request's answer
   * (or failure) came back. A request larger than one window's allowance waits for an empty window.
   */
  acquire(units: number): Promise<() => void> {
    return new Promise((resolve) => {
      this.queue.push({ units, queuedAt: this.now(), grant: resolve });
      this.pump();
    });
  }

  /** Gmail said "slow down": nothing new goes out for this account before `ms` from now. */
  pause(ms: number): void {
    this.notBefore = Math.max(this.notBefore, this.now() + ms);
    this.pump();
  }

  /**
   * Gmail refused a call for quota although this meter let it through (another client of the same
   * mailbox, or Gmail counting differently): spend less from now on, and wait. With a Retry-After
   * that is the wait; without one, Gmail's window frees within one window length, so the wait
   * backs off exponentially from one second up to the window (the `refusals` this call has had),
   * and is never shorter than this meter needs to have room again at its lowered budget.
   * The budget comes back, a tenth at a time, after each window without a refusal. Returns the wait.
   */
  refused(units: number, refusals: number, retryAfterMs?: number, random: () => number = Math.random): number {
    this.capacity = Math.max(this.floor, Math.floor(this.capacity * 0.9));
    this.lastRefusal = this.now();
    const ceiling = Math.min(this.windowMs, 1000 * 2 ** Math.max(0, refusals));
    const backoff = Math.round(ceiling / 2 + (random() * ceiling) / 2);
    const wait = retryAfterMs ?? Math.max(backoff, this.timeUntilRoom(units));
    this.pause(wait);
    return wait;
  }

  /** A whole window without refusals gives back a tenth of the budget. */
  private recover(now: number): void {
    if (this.capacity >= this.budget || now - this.lastRefusal < this.windowMs) return;
    this.capacity = Math.min(this.budget, this.capacity + this.budget * 0.1);
    this.lastRefusal = now;
  }

  /** Units that could be granted right now without waiting (0 while paused). */
  room(): number {
    const now = this.now();
    if (now < this.notBefore) return 0;
    return Math.max(0, this.capacity - this.inWindow());
  }

  /** Milliseconds until `units` more could be granted, by this meter's count (0 when now). */
  timeUntilRoom(units: number): number {
    const now = this.now();
    this.expire(now);
    const paused = Math.max(0, this.notBefore - now);
    let used = this.spends.reduce((sum, spend) => sum + spend.units, 0);
    if (used + Math.min(units, this.capacity) <= this.capacity + 1e-9) return paused;
    const ends = this.spends
      .filter((spend) => spend.end !== undefined)
      .map((spend) => ({ at: spend.end! + this.windowMs + this.guardMs, units: spend.units }))
      .sort((a, b) => a.at - b.at);
    for (const end of ends) {
      used -= end.units;
      if (used + Math.min(units, this.capacity) <= this.capacity + 1e-9) return Math.max(paused, end.at - now);
    }
    return Math.max(paused, this.windowMs);
  }

  /** Units counted in the window now (in flight, or answered less than a window ago). */
  inWindow(): number {
    this.expire(this.now());
    return this.spends.reduce((sum, spend) => sum + spend.units, 0);
  }

  private expire(now: number): void {
    const horizon = this.windowMs + this.guardMs;
    if (this.spends.some((spend) => spend.end !== undefined && spend.end + horizon <= now)) {
      this.spends = this.spends.filter((spend) => spend.end === undefined || spend.end + horizon > now);
    }
  }

  private pump(): void {
    const now = this.now();
    this.expire(now);
    this.recover(now);
    let used = this.spends.reduce((sum, spend) => sum + spend.units, 0);
    while (this.queue.length > 0) {
      if (now < this.notBefore) return this.wakeAt(this.notBefore);
      const head = this.queue[0]!;
      if (used + Math.min(head.units, this.capacity) > this.capacity + 1e-9) {
        // Wait for the earliest answered spend to leave the window; in-flight ones call pump when answered.
        const ends = this.spends.filter((spend) => spend.end !== undefined).map((spend) => spend.end! + this.windowMs + this.guardMs);
        if (ends.length > 0) this.wakeAt(Math.min(...ends));
        return;
      }
      this.queue.shift();
      this.waitedMs += Math.max(0, now - head.queuedAt);
      const spend: Spend = { units: head.units };
      this.spends.push(spend);
      used += head.units;
      this.granted += head.units;
      let released = false;
      head.grant(() => {
        if (released) return;
        released = true;
        spend.end = this.now();
        this.pump();
      });
    }
  }

  private wakeAt(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, Math.max(0, Math.ceil(at - this.now())));
  }
}

/**
 * A counting semaphore: at most `limit` places taken at a time, served in arrival order. A holder
 * may take several places at once (a batch takes one per part, as Gmail counts them); a waiter
 * that needs more places than are free also holds back the waiters behind it, so a batch is never
 * starved by a stream of single requests.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<{ places: number; wake: () => void }> = [];
  /** The highest number of places taken at once (for tests and figures). */
  peak = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('limit must be at least 1');
  }

  /** Takes `places` (1 by default, at most `limit`); the returned function gives them back. */
  async acquire(places = 1): Promise<() => void> {
    const wanted = Math.min(this.limit, Math.max(1, Math.floor(places)));
    if (this.waiters.length > 0 || this.active + wanted > this.limit) {
      await new Promise<void>((wake) => this.waiters.push({ places: wanted, wake }));
    } else this.active += wanted;
    this.peak = Math.max(this.peak, this.active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= wanted;
      this.wakeWaiters();
    };
  }

  /** Hands freed places to waiters in arrival order, as far as they go. */
  private wakeWaiters(): void {
    while (this.waiters.length > 0 && this.active + this.waiters[0]!.places <= this.limit) {
      const next = this.waiters.shift()!;
      this.active += next.places;
      next.wake();
    }
  }

  get inFlight(): number {
    return this.active;
  }
}
