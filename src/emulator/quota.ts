/**
 * Gmail's per-method quota units, a per-user units-per-second moving window, an optional
 * per-user concurrency cap, and the counters tests and benchmarks read.
 * The window runs on the real clock: it limits real request rates, whatever the mail clock says.
 */

/** Units per call (gmail-api-notes §4.1). Methods not listed cost 5. */
export const METHOD_UNITS: Record<string, number> = {
  getProfile: 1,
  'labels.list': 1,
  'labels.get': 1,
  'messages.list': 5,
  'messages.get': 5,
  'messages.attachments.get': 5,
  'history.list': 2,
  'threads.get': 10,
  'threads.list': 10,
};

export function unitsFor(method: string): number {
  return METHOD_UNITS[method] ?? 5;
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
  byMethod: Record<string, MethodCount>;
}

class UserWindow {
  private readonly times: number[] = [];
  private readonly units: number[] = [];
  private head = 0;
  private sum = 0;

  /** Units spent in the last `windowMs` up to `now`. */
  spent(now: number, windowMs: number): number {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - windowMs) {
      this.sum -= this.units[this.head] as number;
      this.head++;
    }
    if (this.head > 4096) {
      this.times.splice(0, this.head);
      this.units.splice(0, this.head);
      this.head = 0;
    }
    return this.sum;
  }

  add(now: number, units: number): void {
    this.times.push(now);
    this.units.push(units);
    this.sum += units;
  }
}

export class QuotaMeter {
  private readonly windows = new Map<string, UserWindow>();
  private readonly inFlight = new Map<string, number>();
  private counters = new Map<string, Counters>();

  constructor(
    public unitsPerSec: number,
    public maxConcurrentPerUser: number,
    private readonly windowMs = 1000,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Charges a call; false when it would exceed the user's units in the moving window. */
  charge(user: string, units: number): boolean {
    if (this.unitsPerSec <= 0) return true;
    const now = this.clock();
    let window = this.windows.get(user);
    if (!window) {
      window = new UserWindow();
      this.windows.set(user, window);
    }
    const limit = (this.unitsPerSec * this.windowMs) / 1000;
    if (window.spent(now, this.windowMs) + units > limit) return false;
    window.add(now, units);
    return true;
  }

  /** Admits a call under the per-user concurrency cap; false when the cap is reached. */
  enter(user: string): boolean {
    const current = this.inFlight.get(user) ?? 0;
    if (this.maxConcurrentPerUser > 0 && current >= this.maxConcurrentPerUser) return false;
    this.inFlight.set(user, current + 1);
    return true;
  }

  leave(user: string): void {
    const current = this.inFlight.get(user) ?? 0;
    if (current <= 1) this.inFlight.delete(user);
    else this.inFlight.set(user, current - 1);
  }

  count(user: string, method: string, units: number, refused: boolean): void {
    let c = this.counters.get(user);
    if (!c) {
      c = { calls: 0, units: 0, refused: 0, byMethod: {} };
      this.counters.set(user, c);
    }
    c.calls++;
    c.units += units;
    if (refused) c.refused++;
    const m = (c.byMethod[method] ??= { calls: 0, units: 0 });
    m.calls++;
    m.units += units;
  }

  read(user?: string): Counters {
    if (user !== undefined) {
      const c = this.counters.get(user.toLowerCase());
      return c ? structuredClone(c) : { calls: 0, units: 0, refused: 0, byMethod: {} };
    }
    const total: Counters = { calls: 0, units: 0, refused: 0, byMethod: {} };
    for (const c of this.counters.values()) {
      total.calls += c.calls;
      total.units += c.units;
      total.refused += c.refused;
      for (const [method, m] of Object.entries(c.byMethod)) {
        const t = (total.byMethod[method] ??= { calls: 0, units: 0 });
        t.calls += m.calls;
        t.units += m.units;
      }
    }
    return total;
  }

  /** Per-user counters, for GET /emulator/counters. */
  readAll(): Record<string, Counters> {
    return Object.fromEntries([...this.counters.entries()].map(([user, c]) => [user, structuredClone(c)]));
  }

  reset(): void {
    this.counters = new Map();
  }
}
