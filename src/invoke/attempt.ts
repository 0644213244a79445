/**
 * One InvokeEndpoint attempt: through the endpoint and model breakers, bounded by the socket
 * timeout and the caller's deadline, counted in the upstream metrics, and classified once (an
 * UpstreamFailure carries the verdict to the breakers and the retry loop). It also knows which
 * attempts are still waiting for their answer per model: an old unanswered one is evidence that
 * the upstream is loading that model.
 */
import type { ResolvedModel } from '../catalog.js';
import type { GatewayMetrics } from '../metrics.js';
import type { BreakerRegistry } from './breakers.js';
import type { Clock } from './retry-policy.js';
import type { InvokeEndpointOutput, InvokeEndpointParams, UpstreamTransport } from './transport.js';
import { AttemptAbandonedError, AttemptTimeoutError, UpstreamFailure, callerGoneError } from './upstream-errors.js';

export interface AttemptDeps {
  transport: UpstreamTransport;
  breakers: BreakerRegistry;
  metrics: GatewayMetrics;
  clock: Clock;
  socketTimeoutMs: number;
}

export interface AttemptRequest {
  model: ResolvedModel;
  /** The model's state key (endpoint and TargetModel). */
  key: string;
  params: InvokeEndpointParams;
  deadlineAt: number;
  /** Aborts when the caller has gone: nothing is sent, and an attempt in flight is aborted. */
  signal: AbortSignal | undefined;
}

/** One attempt waiting for its answer; a Set keeps them in the order they were sent. */
interface InFlight {
  sentAt: number;
}

export class UpstreamAttempts {
  private readonly inFlight = new Map<string, Set<InFlight>>();

  constructor(private readonly deps: AttemptDeps) {}

  /**
   * Sends one attempt. Rejects with an UpstreamFailure, or with a GatewayError when nothing was
   * sent (CIRCUIT_OPEN: a breaker is open; CLIENT_CLOSED_REQUEST: the caller has gone).
   * `onSent` runs once the breakers let it through.
   */
  async send(request: AttemptRequest, onSent: () => void): Promise<InvokeEndpointOutput> {
    const { model, key } = request;
    const { metrics, clock, socketTimeoutMs } = this.deps;
    if (request.signal?.aborted) throw callerGoneError(); // nothing is sent for a caller who has gone
    const remaining = request.deadlineAt - clock.now();
    if (remaining <= 0) throw new UpstreamFailure(new AttemptTimeoutError(0, true));
    const byDeadline = remaining < socketTimeoutMs;
    const timeoutMs = Math.ceil(Math.min(remaining, socketTimeoutMs));
    const startedAt = clock.now();
    let outcome = 'success';
    try {
      return await this.deps.breakers.run(model.endpoint, key, model.name, () => {
        onSent();
        return this.tracked(key, () => this.sendWithTimeout(request, timeoutMs, byDeadline)).catch((error: unknown) => {
          throw new UpstreamFailure(error);
        });
      });
    } catch (error) {
      outcome = error instanceof UpstreamFailure ? error.kind : 'circuit_open';
      throw error;
    } finally {
      if (outcome !== 'circuit_open') {
        metrics.upstreamRequests.inc({ model: metrics.modelLabel(model.name), endpoint: model.endpoint, outcome });
        metrics.upstreamDuration.observe({ endpoint: model.endpoint, outcome }, (clock.now() - startedAt) / 1000);
      }
    }
  }

  /** When the oldest attempt to this model that is still waiting for its answer was sent. */
  oldestInFlightSentAt(key: string): number | undefined {
    return this.inFlight.get(key)?.values().next().value?.sentAt;
  }

  private async tracked<T>(key: string, attempt: () => Promise<T>): Promise<T> {
    let attempts = this.inFlight.get(key);
    if (!attempts) {
      attempts = new Set();
      this.inFlight.set(key, attempts);
    }
    const entry: InFlight = { sentAt: this.deps.clock.now() };
    attempts.add(entry);
    try {
      return await attempt();
    } finally {
      attempts.delete(entry);
      if (attempts.size === 0) this.inFlight.delete(key);
    }
  }

  private async sendWithTimeout(request: AttemptRequest, timeoutMs: number, byDeadline: boolean): Promise<InvokeEndpointOutput> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const { signal: callerSignal } = request;
    const onCallerGone = () => controller.abort();
    callerSignal?.addEventListener('abort', onCallerGone, { once: true });
    try {
      return await this.deps.transport.invokeEndpoint(request.params, controller.signal);
    } catch (error) {
      if (callerSignal?.aborted) throw new AttemptAbandonedError();
      if (controller.signal.aborted) throw new AttemptTimeoutError(timeoutMs, byDeadline);
      throw error;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerGone);
    }
  }
}
