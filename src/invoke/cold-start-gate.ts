/**
 * Single-flight for cold models. While a model is not known warm, one request at a time (the
 * probe) calls SageMaker and retries ModelNotReadyException; the others wait here in a
 * bounded queue with a bounded wait and are released the moment the probe succeeds. A burst
 * of N callers for a cold model thus costs about N upstream calls plus the probe's retries.
 *
 * A waiter whose caller has gone (its AbortSignal fires) leaves the queue at once, so departed
 * callers never fill the queue nor get released to call upstream. A probe whose caller has gone
 * is ended by the invoker, which then calls `failed()`: the next waiter takes the role over.
 */
import { gatewayError, isGatewayError, type GatewayError } from '../errors.js';
import { callerGoneError } from './upstream-errors.js';

export type GateRole = 'probe' | 'released';

interface Waiter {
  resolve(role: GateRole): void;
  timer: NodeJS.Timeout;
  /** Stops listening to the caller's signal once the waiter leaves the queue for any reason. */
  release(): void;
}

interface GateEntry {
  waiters: Waiter[];
}

export interface ColdStartGateOptions {
  maxWaitersPerModel: number;
  /** Called whenever the number of waiters changes (for the queue-depth gauge). */
  onDepthChange?: (key: string, delta: number) => void;
}

export class ColdStartGate {
  private readonly entries = new Map<string, GateEntry>();

  constructor(private readonly options: ColdStartGateOptions) {}

  /**
   * Resolves 'probe' when the caller must call upstream itself (nobody else is), 'released'
   * once another caller's probe succeeded. Rejects with QUEUE_FULL when too many wait, with
   * `onTimeout()` when `waitMs` passes first, or with CLIENT_CLOSED_REQUEST as soon as `signal`
   * (the caller's connection) aborts; a caller already gone never enters.
   */
  enter(key: string, waitMs: number, onTimeout: () => GatewayError, signal?: AbortSignal): Promise<GateRole> {
    if (signal?.aborted) return Promise.reject(callerGoneError());
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { waiters: [] });
      return Promise.resolve('probe');
    }
    if (entry.waiters.length >= this.options.maxWaitersPerModel) {
      return Promise.reject(
        gatewayError('QUEUE_FULL', 'Too many requests are already waiting for this model to load.', { retryAfterSeconds: 1 }),
      );
    }
    return new Promise<GateRole>((resolve, reject) => {
      const leave = (error: GatewayError) => {
        this.remove(key, entry, waiter);
        waiter.release();
        reject(error);
      };
      const onCallerGone = () => {
        clearTimeout(waiter.timer);
        leave(callerGoneError());
      };
      const waiter: Waiter = {
        resolve: (role) => {
          waiter.release();
          resolve(role);
        },
        timer: setTimeout(() => leave(onTimeout()), Math.max(0, waitMs)),
        release: () => signal?.removeEventListener('abort', onCallerGone),
      };
      signal?.addEventListener('abort', onCallerGone, { once: true });
      entry.waiters.push(waiter);
      this.options.onDepthChange?.(key, 1);
    });
  }

  /** The probe got an answer from the model: everybody waiting goes now. */
  succeeded(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const waiter of entry.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve('released');
    }
    if (entry.waiters.length > 0) this.options.onDepthChange?.(key, -entry.waiters.length);
  }

  /**
   * The probe gave up (its own deadline, an error, or its caller left): the next waiter becomes
   * the probe, so nobody keeps waiting on a probe that no longer runs.
   */
  failed(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    const next = entry.waiters.shift();
    if (!next) {
      this.entries.delete(key);
      return;
    }
    clearTimeout(next.timer);
    this.options.onDepthChange?.(key, -1);
    next.resolve('probe');
  }

  waiting(key: string): number {
    return this.entries.get(key)?.waiters.length ?? 0;
  }

  /** Models with a probe in flight (for tests and the memory check). */
  get activeModels(): number {
    return this.entries.size;
  }

  private remove(key: string, entry: GateEntry, waiter: Waiter): void {
    const index = entry.waiters.indexOf(waiter);
    if (index >= 0) {
      entry.waiters.splice(index, 1);
      this.options.onDepthChange?.(key, -1);
    }
  }
}

/** How a wait at the gate that did not end in a role ended (the wait metric's and span's result). */
export function gateWaitFailure(error: unknown): 'queue_full' | 'abandoned' | 'timeout' {
  const code = isGatewayError(error) ? error.code : undefined;
  return code === 'QUEUE_FULL' ? 'queue_full' : code === 'CLIENT_CLOSED_REQUEST' ? 'abandoned' : 'timeout';
}
