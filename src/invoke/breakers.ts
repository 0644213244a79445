/**
 * Circuit breakers (opossum): one per endpoint, for endpoint-wide trouble (5xx, throttling,
 * timeouts, connection errors), and one per model, for a model whose container keeps failing
 * or whose load fails (ModelError with a 5xx original status). A model still loading and a
 * caller's bad input never count. A model breaker opens on either of two triggers: opossum's
 * error rate over its rolling window (high call rates), or `consecutiveFailures` model failures
 * in a row whatever the rate (Envoy's outlier detection ejects after 5 consecutive 5xx), so a
 * model whose every call fails opens even when its calls are seconds apart. Model breakers live
 * in a bounded LRU and are shut down on eviction, so thousands of models never mean thousands
 * of live breakers and timers.
 */
import CircuitBreaker from 'opossum';
import { LRUCache } from 'lru-cache';
import { gatewayError } from '../errors.js';
import type { BreakerScope, BreakerStateName, GatewayMetrics } from '../metrics.js';
import { UpstreamFailure } from './upstream-errors.js';

type Action = () => Promise<unknown>;
type Breaker = CircuitBreaker<[Action], unknown>;

export interface BreakerSettings {
  errorThresholdPercent: number;
  volumeThreshold: number;
  rollingWindowMs: number;
  resetTimeoutMs: number;
  maxModelBreakers: number;
  /** Model failures in a row that open a model's breaker whatever the rate. */
  consecutiveFailures: number;
}

interface TrackedBreaker {
  breaker: Breaker;
  endpoint: string;
  model: string;
  /** When the breaker last opened: Retry-After is the time left until its half-open probe. */
  openedAt: number;
  /** Failures in a row (model breakers): reset by a success or the container's own 4xx answer. */
  consecutiveFailures: number;
}

export interface BreakerStates {
  endpoint: BreakerStateName;
  model: BreakerStateName;
}

export class BreakerRegistry {
  private readonly endpoints = new Map<string, TrackedBreaker>();
  private readonly models: LRUCache<string, TrackedBreaker>;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly metrics: GatewayMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.models = new LRUCache({
      max: settings.maxModelBreakers,
      dispose: (tracked) => {
        tracked.breaker.shutdown();
        if (tracked.breaker.opened) this.metrics.breakersOpen.dec({ scope: 'model' });
        this.metrics.dropBreakerState(tracked.endpoint, tracked.model);
        this.metrics.breakersLive.set(this.models.size);
      },
    });
  }

  /**
   * Runs one upstream attempt through the endpoint breaker and then the model breaker.
   * An open breaker rejects at once with CIRCUIT_OPEN and a Retry-After. `attempt` rejects
   * with an UpstreamFailure, whose classification decides what counts against which breaker.
   */
  async run<T>(endpoint: string, modelKey: string, modelName: string, attempt: () => Promise<T>): Promise<T> {
    const endpointBreaker = this.endpointBreaker(endpoint);
    const modelBreaker = this.modelBreaker(endpoint, modelKey, modelName);
    this.rejectIfOpen(endpointBreaker, `endpoint "${endpoint}"`);
    this.rejectIfOpen(modelBreaker, `model "${modelName}"`);
    try {
      const output = (await endpointBreaker.breaker.fire(() => modelBreaker.breaker.fire(attempt))) as T;
      modelBreaker.consecutiveFailures = 0;
      return output;
    } catch (error) {
      if (error instanceof UpstreamFailure) this.countConsecutive(modelBreaker, error);
      throw error;
    }
  }

  states(endpoint: string, modelKey: string): BreakerStates {
    return {
      endpoint: stateOf(this.endpoints.get(endpoint)?.breaker),
      model: stateOf(this.models.peek(modelKey)?.breaker),
    };
  }

  get liveModelBreakers(): number {
    return this.models.size;
  }

  shutdown(): void {
    for (const tracked of this.endpoints.values()) tracked.breaker.shutdown();
    this.endpoints.clear();
    this.models.clear();
  }

  private rejectIfOpen(tracked: TrackedBreaker, what: string): void {
    const { breaker } = tracked;
    // Half-open lets exactly one trial call through (opossum's pendingClose); others fail fast.
    if (breaker.closed || breaker.pendingClose) return;
    const retryAfterMs = Math.max(0, tracked.openedAt + this.settings.resetTimeoutMs - this.now());
    throw gatewayError('CIRCUIT_OPEN', `The circuit breaker for ${what} is open after repeated failures.`, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    });
  }

  /** A loading model (ModelNotReady) and endpoint trouble neither count nor reset the run. */
  private countConsecutive(tracked: TrackedBreaker, failure: UpstreamFailure): void {
    if (failure.containerAnswered) tracked.consecutiveFailures = 0;
    if (!failure.modelFailure) return;
    tracked.consecutiveFailures++;
    if (tracked.consecutiveFailures >= this.settings.consecutiveFailures) tracked.breaker.open(); // no-op when already open
  }

  private endpointBreaker(endpoint: string): TrackedBreaker {
    let tracked = this.endpoints.get(endpoint);
    if (!tracked) {
      tracked = this.create('endpoint', endpoint, '', (failure) => failure.endpointFailure);
      this.endpoints.set(endpoint, tracked);
    }
    return tracked;
  }

  private modelBreaker(endpoint: string, key: string, modelName: string): TrackedBreaker {
    let tracked = this.models.get(key);
    if (!tracked) {
      tracked = this.create('model', endpoint, modelName, (failure) => failure.modelFailure);
      this.models.set(key, tracked);
      this.metrics.breakersLive.set(this.models.size);
    }
    return tracked;
  }

  private create(scope: BreakerScope, endpoint: string, model: string, isFailure: (failure: UpstreamFailure) => boolean): TrackedBreaker {
    const breaker: Breaker = new CircuitBreaker((action: Action) => action(), {
      // Attempts are already bounded by the invoker's own per-attempt timeout.
      timeout: false,
      errorThresholdPercentage: this.settings.errorThresholdPercent,
      volumeThreshold: this.settings.volumeThreshold,
      rollingCountTimeout: this.settings.rollingWindowMs,
      resetTimeout: this.settings.resetTimeoutMs,
      errorFilter: (error: unknown) => !(error instanceof UpstreamFailure && isFailure(error)),
      // Only the error ratio is used. Latency percentiles keep every call's latency in arrays,
      // and snapshots run a timer per breaker computing stats nobody reads: with a thousand
      // model breakers both cost memory and CPU on the hot path.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    const tracked: TrackedBreaker = { breaker, endpoint, model, openedAt: 0, consecutiveFailures: 0 };
    breaker.on('open', () => {
      tracked.openedAt = this.now();
      this.metrics.breakersOpen.inc({ scope });
      this.metrics.setBreakerState(scope, endpoint, model, 'open');
    });
    breaker.on('halfOpen', () => {
      this.metrics.breakersOpen.dec({ scope });
      this.metrics.setBreakerState(scope, endpoint, model, 'half_open');
    });
    breaker.on('close', () => this.metrics.setBreakerState(scope, endpoint, model, 'closed'));
    return tracked;
  }
}

function stateOf(breaker: Breaker | undefined): BreakerStateName {
  if (!breaker || breaker.closed) return 'closed';
  return breaker.halfOpen ? 'half_open' : 'open';
}
