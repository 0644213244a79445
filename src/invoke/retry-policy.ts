/**
 * Backoff and the retry budget. Full jitter spreads retries of many callers over time instead
 * of synchronising them; the budget caps transient retries at a fraction of first attempts,
 * so during an endpoint outage the gateway adds at most that fraction of extra load.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^retry)). */
export function backoffDelayMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * ceiling);
}

/**
 * A token bucket fed by requests: every first attempt deposits `percent`/100 of a token and
 * every retry spends one. A small reserve lets a quiet gateway still retry a rare blip.
 */
export class RetryBudget {
  private tokens: number;
  private readonly perRequest: number;

  constructor(
    percent: number,
    reserve = 10,
    private readonly maxTokens = 100,
  ) {
    this.perRequest = percent / 100;
    this.tokens = reserve;
  }

  recordRequest(): void {
    this.tokens = Math.min(this.maxTokens, this.tokens + this.perRequest);
  }

  tryRetry(): boolean {
    if (this.perRequest === 0 || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The invoker's time: monotonic ms and waiting. Injected, so tests run in virtual time. */
export interface Clock {
  now(): number;
  /** Waits `ms`, or less when `signal` aborts first (the caller then checks why it woke). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  // Wakes early, without an error, when the signal aborts: the caller checks why it woke.
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};
