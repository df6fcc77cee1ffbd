/**
 * The two per-account limits every Gmail call passes through: a token bucket in Gmail quota units
 * (what Google meters) and a cap on requests in flight (Gmail also limits concurrency per user).
 */

export type Clock = () => number;
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface TokenBucketOptions {
  /** Units added per second. */
  ratePerSec: number;
  /** Most units that can be spent at once after an idle spell (the burst). Default: one second's worth. */
  capacity?: number;
  now?: Clock;
  sleep?: Sleep;
}

/**
 * A reservation-style token bucket: `reserve` takes the units at once, letting the balance go
 * negative, and says how long the caller must wait before sending. Reservations queue in call
 * order, so callers are served first come first served without a waiter list, and a request larger
 * than the capacity (a big batch) still goes through after a proportional wait instead of
 * deadlocking.
 */
export class TokenBucket {
  readonly ratePerSec: number;
  readonly capacity: number;
  private tokens: number;
  private updatedAt: number;
  private pausedUntil = 0;
  private readonly now: Clock;
  private readonly sleep: Sleep;
  /** Total units granted, for tests and stats. */
  granted = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSec > 0)) throw new RangeError('ratePerSec must be positive');
    this.ratePerSec = options.ratePerSec;
    this.capacity = Math.max(1, options.capacity ?? options.ratePerSec);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.tokens = this.capacity;
    this.updatedAt = this.now();
  }

  private refill(now: number): void {
    const from = Math.max(this.updatedAt, this.pausedUntil);
    if (now > from) this.tokens = Math.min(this.capacity, this.tokens + ((now - from) * this.ratePerSec) / 1000);
    this.updatedAt = Math.max(now, this.updatedAt);
  }

  /** Takes `units` now and returns the milliseconds to wait before using them (0 = go). */
  reserve(units: number): number {
    const now = this.now();
    this.refill(now);
    this.tokens -= units;
    this.granted += units;
    const pauseWait = Math.max(0, this.pausedUntil - now);
    const debtWait = this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSec;
    return pauseWait + debtWait;
  }

  /** Waits until `units` may be spent. */
  async take(units: number): Promise<void> {
    const wait = this.reserve(units);
    if (wait > 0) await this.sleep(wait);
  }

  /**
   * Gmail said "slow down": stop everyone on this account for `ms` and start again from an empty
   * bucket, so requests already queued do not all fire the moment the pause ends.
   */
  pause(ms: number): void {
    const now = this.now();
    this.refill(now);
    this.tokens = Math.min(this.tokens, 0);
    this.pausedUntil = Math.max(this.pausedUntil, now + ms);
  }

  /** Units available now (negative when reservations are queued). */
  available(): number {
    this.refill(this.now());
    return this.tokens;
  }
}

/** A counting semaphore: at most `limit` holders at a time, served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** The highest number of simultaneous holders seen (for tests and figures). */
  peak = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('limit must be at least 1');
  }

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next();
      else this.active--;
    };
  }

  get inFlight(): number {
    return this.active;
  }
}
