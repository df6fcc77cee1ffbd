/**
 * Faults on demand: by method, user, probability or the next N calls, plus a background rate of
 * random retryable faults. Each call asks `pick` once; a matching spec is consumed.
 */
import { Random } from './random.js';

export type FaultKind =
  | '429'
  | '429-concurrent'
  | '429-retry-after'
  | '403-user-rate'
  | '403-rate'
  | '500'
  | '503'
  | '401'
  | 'reset'
  | 'slow'
  | 'empty-page';

export const FAULT_KINDS: readonly FaultKind[] = ['429', '429-concurrent', '429-retry-after', '403-user-rate', '403-rate', '500', '503', '401', 'reset', 'slow', 'empty-page'];

/** Kinds a retrying client can recover from; `--faults RATE` draws from these. */
export const RETRYABLE_FAULT_KINDS: readonly FaultKind[] = ['429', '429-concurrent', '429-retry-after', '403-user-rate', '403-rate', '500', '503', 'reset', 'slow', 'empty-page'];

export interface FaultSpec {
  /** API method ('messages.get', 'history.list', 'token', 'batch', ...); any when absent. */
  method?: string;
  user?: string;
  kind: FaultKind;
  /** Fire on the next N matching calls (default: unlimited when probability is set, else 1). */
  times?: number;
  /** Fire on this fraction of matching calls (default 1). */
  probability?: number;
  /** For 'slow': added latency (default 2000 ms). For '429-retry-after': the wait announced (default 1000 ms). */
  delayMs?: number;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

/** Methods that page, for which 'empty-page' makes sense. */
const PAGED = new Set(['messages.list', 'history.list', 'threads.list']);

export function normalizeMethod(method: string): string {
  const m = method.replace(/^users\./, '');
  if (m === 'attachments.get') return 'messages.attachments.get';
  if (m === 'profile') return 'getProfile';
  return m;
}

export class FaultInjector {
  private active: ActiveFault[] = [];
  private readonly random: Random;

  constructor(
    public rate = 0,
    seed = 12345,
  ) {
    this.random = new Random(seed);
  }

  inject(spec: FaultSpec): void {
    if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind ${String(spec.kind)}; expected one of ${FAULT_KINDS.join(', ')}`);
    const remaining = spec.times ?? (spec.probability !== undefined ? Number.POSITIVE_INFINITY : 1);
    this.active.push({ ...spec, method: spec.method ? normalizeMethod(spec.method) : undefined, user: spec.user?.toLowerCase(), remaining });
  }

  clear(): void {
    this.active = [];
  }

  /** The fault to apply to this call, if any. */
  pick(method: string, user: string | null): FaultSpec | undefined {
    for (const fault of this.active) {
      if (fault.remaining <= 0) continue;
      if (fault.method && fault.method !== method) continue;
      if (fault.user && fault.user !== user) continue;
      if (fault.kind === 'empty-page' && !PAGED.has(method)) continue;
      if (fault.probability !== undefined && !this.random.chance(fault.probability)) continue;
      fault.remaining--;
      this.active = this.active.filter((f) => f.remaining > 0);
      return fault;
    }
    if (this.rate > 0 && method !== 'token' && this.random.chance(this.rate)) {
      const kinds = RETRYABLE_FAULT_KINDS.filter((k) => k !== 'empty-page' || PAGED.has(method));
      return { kind: this.random.pick(kinds), delayMs: 150 };
    }
    return undefined;
  }
}
