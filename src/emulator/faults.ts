/**
 * Faults on demand: by method, user, message id, probability or the next N calls, plus a
 * background rate of random retryable faults. Each call asks `pick` once; a matching spec is
 * consumed. A batch request asks once for itself (method 'batch') and then once per part.
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
  /**
   * API method ('messages.get', 'history.list', ...), 'token' for the token endpoint, or 'batch' for
   * a whole batch request; when absent, any API call (each batch part is one) and the token endpoint.
   */
  method?: string;
  user?: string;
  /**
   * Only calls on this message or thread id (the path id of messages.get, messages.attachments.get,
   * threads.get; case-insensitive): lets a test make one message fail every time.
   */
  id?: string;
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

/** Requests that are not API calls: only a spec naming them applies, and the background rate never does. */
const ENVELOPES = new Set(['token', 'batch']);

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
    this.active.push({ ...spec, method: spec.method ? normalizeMethod(spec.method) : undefined, user: spec.user?.toLowerCase(), id: spec.id?.toLowerCase(), remaining });
  }

  clear(): void {
    this.active = [];
  }

  /** The fault to apply to this call, if any. `id` is the message or thread id in the call's path. */
  pick(method: string, user: string | null, id?: string): FaultSpec | undefined {
    const call = { method, user, id: id?.toLowerCase() };
    const fault = this.active.find((f) => f.remaining > 0 && matches(f, call) && (f.probability === undefined || this.random.chance(f.probability)));
    if (fault) {
      fault.remaining--;
      this.active = this.active.filter((f) => f.remaining > 0);
      return fault;
    }
    if (this.rate > 0 && !ENVELOPES.has(method) && this.random.chance(this.rate)) {
      const kinds = RETRYABLE_FAULT_KINDS.filter((k) => k !== 'empty-page' || PAGED.has(method));
      return { kind: this.random.pick(kinds), delayMs: 150 };
    }
    return undefined;
  }
}

function matches(fault: FaultSpec, call: { method: string; user: string | null; id?: string }): boolean {
  if (fault.method ? fault.method !== call.method : call.method === 'batch') return false;
  if (fault.user && fault.user !== call.user) return false;
  if (fault.id && fault.id !== call.id) return false;
  return fault.kind !== 'empty-page' || PAGED.has(call.method);
}
