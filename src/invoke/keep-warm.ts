/**
 * Keep-warm: SageMaker unloads models nobody calls, and the next caller pays the reload. A
 * catalog model with `keepWarm: { intervalSeconds }` gets its warm-up payload sent whenever
 * it has had no traffic for that long, so it stays resident. The scheduler is deliberately
 * timid: each due time is jittered (a fleet of gateways does not ping in step), an endpoint
 * gets one keep-warm call at a time, all of them share a token bucket (a bounded total rate),
 * nothing is sent while the target's breakers are open, and stop() ends it at shutdown.
 */

export interface KeepWarmTarget {
  /** The target's model key: the same key the state store and breakers use. */
  key: string;
  endpoint: string;
  /** Labels for the metric. */
  model: string;
  intervalMs: number;
  /**
   * Sends the warm-up payload; resolves once the container answered, rejects otherwise.
   * `signal` aborts at stop(), so shutdown never waits on a long cold start.
   */
  warm(signal: AbortSignal): Promise<void>;
}

export type KeepWarmOutcome = 'success' | 'failure' | 'paused';

export interface KeepWarmOptions {
  targets: KeepWarmTarget[];
  /** When the target last answered anything (traffic or keep-warm), on `now()`'s clock. */
  lastActivityAt(key: string): number | undefined;
  /** True while the target's model or endpoint breaker is not closed. */
  isPaused(target: KeepWarmTarget): boolean;
  onOutcome(target: KeepWarmTarget, outcome: KeepWarmOutcome): void;
  /** Total keep-warm calls per second across every endpoint. */
  maxPerSecond: number;
  /** Due times are drawn from [interval·(1 − jitter), interval]: early rather than late. */
  jitterRatio?: number;
  now?: () => number;
  random?: () => number;
}

interface Schedule {
  target: KeepWarmTarget;
  /** Fraction of the interval drawn for the current cycle. */
  jitter: number;
  lastAttemptAt: number;
  pausedReported: boolean;
}

// A tenth of the shortest interval keeps a due time's lateness small next to the interval;
// bounded so a long interval still notices a breaker closing within a second.
const MIN_TICK_MS = 50;
const MAX_TICK_MS = 1_000;

export class KeepWarmScheduler {
  private readonly schedules: Schedule[];
  private readonly busyEndpoints = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly jitterRatio: number;
  private tokens: number;
  private refilledAt: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly options: KeepWarmOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.jitterRatio = options.jitterRatio ?? 0.1;
    const startedAt = this.now();
    this.schedules = options.targets.map((target) => ({ target, jitter: this.drawJitter(), lastAttemptAt: startedAt, pausedReported: false }));
    this.tokens = Math.max(1, options.maxPerSecond);
    this.refilledAt = startedAt;
  }

  get tickMs(): number {
    const shortest = Math.min(...this.schedules.map((s) => s.target.intervalMs));
    return Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(shortest / 10)));
  }

  start(): void {
    if (this.schedules.length === 0 || this.timer || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Stops scheduling, aborts the keep-warm calls in flight and waits for them to unwind. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** One pass over the targets: sends what is due, as far as endpoints and tokens allow. */
  tick(): void {
    if (this.stopped) return;
    this.refill();
    const now = this.now();
    const due = this.schedules
      .map((schedule) => ({ schedule, dueAt: this.dueAt(schedule) }))
      .filter(({ dueAt }) => dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt);
    for (const { schedule } of due) {
      const { target } = schedule;
      if (this.busyEndpoints.has(target.endpoint)) continue;
      if (this.options.isPaused(target)) {
        if (!schedule.pausedReported) this.options.onOutcome(target, 'paused');
        schedule.pausedReported = true;
        continue;
      }
      if (this.tokens < 1) return;
      this.tokens -= 1;
      this.send(schedule, now);
    }
  }

  private dueAt(schedule: Schedule): number {
    const last = Math.max(schedule.lastAttemptAt, this.options.lastActivityAt(schedule.target.key) ?? -Infinity);
    return last + schedule.target.intervalMs * (1 - schedule.jitter);
  }

  private send(schedule: Schedule, now: number): void {
    const { target } = schedule;
    schedule.lastAttemptAt = now;
    schedule.jitter = this.drawJitter();
    schedule.pausedReported = false;
    this.busyEndpoints.add(target.endpoint);
    const call = target
      .warm(this.stopping.signal)
      .then(
        () => this.options.onOutcome(target, 'success'),
        () => this.options.onOutcome(target, 'failure'),
      )
      .finally(() => {
        this.busyEndpoints.delete(target.endpoint);
        this.inFlight.delete(call);
      });
    this.inFlight.add(call);
  }

  private refill(): void {
    const now = this.now();
    const capacity = Math.max(1, this.options.maxPerSecond);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.refilledAt) / 1000) * this.options.maxPerSecond);
    this.refilledAt = now;
  }

  private drawJitter(): number {
    return this.random() * this.jitterRatio;
  }
}
