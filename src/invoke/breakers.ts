/**
 * Circuit breakers (opossum): one per endpoint, for endpoint-wide trouble (5xx, throttling,
 * timeouts, connection errors), and one per model, for a model whose container keeps failing
 * (ModelError with a 5xx original status). A model still loading and a caller's bad input
 * never count. Model breakers live in a bounded LRU and are shut down on eviction, so
 * thousands of models never mean thousands of live breakers and timers.
 */
import CircuitBreaker from 'opossum';
import { LRUCache } from 'lru-cache';
import { gatewayError } from '../errors.js';
import type { BreakerScope, BreakerStateName, GatewayMetrics } from '../metrics.js';
import { isEndpointFailure, isModelFailure } from './upstream-errors.js';

type Action = () => Promise<unknown>;
type Breaker = CircuitBreaker<[Action], unknown>;

export interface BreakerSettings {
  errorThresholdPercent: number;
  volumeThreshold: number;
  rollingWindowMs: number;
  resetTimeoutMs: number;
  maxModelBreakers: number;
}

interface TrackedBreaker {
  breaker: Breaker;
  endpoint: string;
  model: string;
  /** When the breaker last opened: Retry-After is the time left until its half-open probe. */
  openedAt: number;
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
   * An open breaker rejects at once with CIRCUIT_OPEN and a Retry-After.
   */
  async run<T>(endpoint: string, modelKey: string, modelName: string, attempt: () => Promise<T>): Promise<T> {
    const endpointBreaker = this.endpointBreaker(endpoint);
    const modelBreaker = this.modelBreaker(endpoint, modelKey, modelName);
    this.rejectIfOpen(endpointBreaker, `endpoint "${endpoint}"`);
    this.rejectIfOpen(modelBreaker, `model "${modelName}"`);
    return (await endpointBreaker.breaker.fire(() => modelBreaker.breaker.fire(attempt))) as T;
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

  private endpointBreaker(endpoint: string): TrackedBreaker {
    let tracked = this.endpoints.get(endpoint);
    if (!tracked) {
      tracked = this.create('endpoint', endpoint, '', isEndpointFailure);
      this.endpoints.set(endpoint, tracked);
    }
    return tracked;
  }

  private modelBreaker(endpoint: string, key: string, modelName: string): TrackedBreaker {
    let tracked = this.models.get(key);
    if (!tracked) {
      tracked = this.create('model', endpoint, modelName, isModelFailure);
      this.models.set(key, tracked);
      this.metrics.breakersLive.set(this.models.size);
    }
    return tracked;
  }

  private create(scope: BreakerScope, endpoint: string, model: string, isFailure: (error: unknown) => boolean): TrackedBreaker {
    const breaker: Breaker = new CircuitBreaker((action: Action) => action(), {
      // Attempts are already bounded by the invoker's own per-attempt timeout.
      timeout: false,
      errorThresholdPercentage: this.settings.errorThresholdPercent,
      volumeThreshold: this.settings.volumeThreshold,
      rollingCountTimeout: this.settings.rollingWindowMs,
      resetTimeout: this.settings.resetTimeoutMs,
      errorFilter: (error: unknown) => !isFailure(error),
      // Only the error ratio is used. Latency percentiles keep every call's latency in arrays,
      // and snapshots run a timer per breaker computing stats nobody reads: with a thousand
      // model breakers both cost memory and CPU on the hot path.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    const tracked: TrackedBreaker = { breaker, endpoint, model, openedAt: 0 };
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
