/**
 * The path from a resolved model to SageMaker: breakers → cold-start gate (single-flight) →
 * InvokeEndpoint attempts, with ModelNotReadyException retried until the deadline and
 * transient errors retried a few times within the retry budget. Callers see one answer:
 * a result, or one GatewayError.
 *
 * Caller departure: `request.signal` aborts when the caller's connection closes. The invoker
 * checks it at the few points that wait or send (the gate, the backoff sleep, each attempt) and
 * aborts an attempt in flight, so nothing is sent, or kept running, for a caller who has gone.
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedModel } from '../catalog.js';
import { gatewayError, isGatewayError, type GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { BreakerRegistry, BreakerStates } from './breakers.js';
import type { ColdStartGate } from './cold-start-gate.js';
import { type ModelStateStore, type ModelStatus, type StartKind, modelKey } from './model-state.js';
import { RetryBudget, backoffDelayMs, delay } from './retry-policy.js';
import type { InvokeEndpointOutput, UpstreamTransport } from './transport.js';
import {
  AttemptAbandonedError,
  AttemptTimeoutError,
  callerGoneError,
  classifyUpstreamError,
  invocationOutcome,
  isTransient,
  toGatewayError,
} from './upstream-errors.js';

export interface InvocationRequest {
  model: ResolvedModel;
  body: Uint8Array;
  contentType: string | undefined;
  accept: string | undefined;
  customAttributes: string | undefined;
  inferenceId: string | undefined;
  targetVariant: string | undefined;
  /** The caller's own timeout in ms (deadline header), if it sent one. */
  callerTimeoutMs: number | undefined;
  /** performance.now() when the gateway received the request. */
  receivedAt: number;
  /** Aborts when the caller has gone (its connection closed); absent for gateway-made calls. */
  signal?: AbortSignal | undefined;
  /**
   * How long the request may wait for a model that is still loading, when that is shorter than
   * its deadline (the SageMaker-compatible route's ready wait); then MODEL_NOT_READY.
   */
  loadWaitMs?: number | undefined;
}

/** Filled in while the invocation runs; read by the HTTP layer for headers and the access log. */
export interface InvocationTrace {
  start: StartKind;
  attempts: number;
  upstreamRequestId: string | undefined;
  /** Set when an attempt already sent upstream was aborted because the caller left. */
  upstreamAborted?: boolean;
}

export type InvocationResult = InvokeEndpointOutput;

export interface InvokerSettings {
  socketTimeoutMs: number;
  notReadyRetryBaseMs: number;
  notReadyRetryMaxMs: number;
  transientRetries: number;
  transientRetryBaseMs: number;
  retryBudgetPercent: number;
}

export interface InvokerDeps {
  transport: UpstreamTransport;
  breakers: BreakerRegistry;
  gate: ColdStartGate;
  states: ModelStateStore;
  metrics: GatewayMetrics;
  settings: InvokerSettings;
  random?: () => number;
}

export interface ModelReport extends ModelStatus {
  breakers: BreakerStates;
  waiting: number;
}

/** A warm model answered ModelNotReadyException (SageMaker unloaded it): go through the gate. */
class BecameCold extends Error {}

export class Invoker {
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly random: () => number;

  constructor(private readonly deps: InvokerDeps) {
    this.random = deps.random ?? Math.random;
  }

  async invoke(request: InvocationRequest, trace: InvocationTrace): Promise<InvocationResult> {
    const { model } = request;
    const modelLabel = this.deps.metrics.modelLabel(model.name);
    try {
      const result = await this.invokeWithColdStart(request, trace);
      this.deps.metrics.invocationDuration.observe(
        { model: modelLabel, endpoint: model.endpoint, start: trace.start, outcome: 'success' },
        (performance.now() - request.receivedAt) / 1000,
      );
      return result;
    } catch (error) {
      const failure = isGatewayError(error) ? error : toGatewayError(error);
      this.deps.metrics.invocationDuration.observe(
        { model: modelLabel, endpoint: model.endpoint, start: trace.start, outcome: invocationOutcome(failure) },
        (performance.now() - request.receivedAt) / 1000,
      );
      throw failure;
    }
  }

  report(model: ResolvedModel): ModelReport {
    const key = modelKey(model.endpoint, model.targetModel);
    const status = this.deps.states.get(key) ?? {
      name: model.name,
      endpoint: model.endpoint,
      targetModel: model.targetModel,
      state: 'cold' as const,
      lastSuccessAt: undefined,
      lastLatencyMs: undefined,
      lastStart: undefined,
    };
    return { ...status, name: model.name, breakers: this.deps.breakers.states(model.endpoint, key), waiting: this.deps.gate.waiting(key) };
  }

  knownModels(): ModelStatus[] {
    return this.deps.states.list();
  }

  private async invokeWithColdStart(request: InvocationRequest, trace: InvocationTrace): Promise<InvocationResult> {
    const { model } = request;
    const key = modelKey(model.endpoint, model.targetModel);
    const deadlineAt = request.receivedAt + Math.min(model.coldStartBudgetMs, request.callerTimeoutMs ?? Infinity);
    // Waiting on a load (queue and probe retries) may be bounded tighter than the whole request.
    const loadDeadlineAt = Math.min(deadlineAt, request.receivedAt + (request.loadWaitMs ?? Infinity));
    this.budget(model.endpoint).recordRequest();
    trace.start = this.deps.states.isWarm(key) ? 'warm' : 'cold';

    for (;;) {
      if (this.deps.states.isWarm(key)) {
        try {
          return await this.attemptWithRetries(request, key, deadlineAt, trace, false);
        } catch (error) {
          if (error instanceof BecameCold) continue;
          throw error;
        }
      }
      trace.start = 'cold';
      const role = await this.waitForLoad(key, loadDeadlineAt, request);
      if (role === 'released') continue;
      try {
        const result = await this.attemptWithRetries(request, key, loadDeadlineAt, trace, true);
        this.deps.gate.succeeded(key);
        return result;
      } catch (error) {
        // A probe whose caller left ends here too: the next waiter takes the role over.
        if (this.deps.states.isWarm(key)) this.deps.gate.succeeded(key);
        else this.deps.gate.failed(key);
        throw error;
      }
    }
  }

  private async waitForLoad(key: string, deadlineAt: number, request: InvocationRequest) {
    const { model } = request;
    const waitStartedAt = performance.now();
    const observeWait = (result: string) =>
      this.deps.metrics.coldQueueWait.observe({ endpoint: model.endpoint, result }, (performance.now() - waitStartedAt) / 1000);
    try {
      const role = await this.deps.gate.enter(key, deadlineAt - waitStartedAt, () => this.notReadyError(request), request.signal);
      if (role === 'released') observeWait('released');
      return role;
    } catch (error) {
      const code = isGatewayError(error) ? error.code : undefined;
      observeWait(code === 'QUEUE_FULL' ? 'queue_full' : code === 'CLIENT_CLOSED_REQUEST' ? 'abandoned' : 'timeout');
      throw error;
    }
  }

  /**
   * Attempts until success, a final error, or the deadline. The probe retries
   * ModelNotReadyException with backoff; anyone else meeting it hands over to the gate.
   */
  private async attemptWithRetries(
    request: InvocationRequest,
    key: string,
    deadlineAt: number,
    trace: InvocationTrace,
    isProbe: boolean,
  ): Promise<InvocationResult> {
    const { model } = request;
    const { settings, metrics, states } = this.deps;
    let notReadyRetries = 0;
    let transientRetries = 0;
    for (;;) {
      const attemptStartedAt = performance.now();
      try {
        const output = await this.attempt(request, key, deadlineAt, trace);
        states.recordSuccess(key, model.name, model.endpoint, model.targetModel, performance.now() - attemptStartedAt, trace.start);
        return output;
      } catch (error) {
        if (isGatewayError(error)) throw error; // circuit open: already final
        const kind = classifyUpstreamError(error);
        if (kind === 'not_ready') {
          trace.start = 'cold';
          states.markLoading(key, model.name, model.endpoint, model.targetModel);
          metrics.modelNotReady.inc({ model: metrics.modelLabel(model.name), endpoint: model.endpoint });
          if (!isProbe) throw new BecameCold();
          const wait = backoffDelayMs(notReadyRetries++, settings.notReadyRetryBaseMs, settings.notReadyRetryMaxMs, this.random);
          if (performance.now() + wait >= deadlineAt) {
            throw this.notReadyError(request);
          }
          metrics.retries.inc({ endpoint: model.endpoint, reason: 'not_ready' });
          await delay(wait, request.signal);
          continue;
        }
        if (kind === 'model_error') states.markLoaded(key, model.name, model.endpoint, model.targetModel);
        if (kind === 'deadline' && !states.isWarm(key)) {
          throw this.notReadyError(request);
        }
        if (isTransient(kind) && transientRetries < settings.transientRetries) {
          const wait = backoffDelayMs(transientRetries, settings.transientRetryBaseMs, settings.notReadyRetryMaxMs, this.random);
          if (performance.now() + wait < deadlineAt) {
            if (this.budget(model.endpoint).tryRetry()) {
              transientRetries++;
              metrics.retries.inc({ endpoint: model.endpoint, reason: 'transient' });
              await delay(wait, request.signal);
              continue;
            }
            metrics.retryBudgetExhausted.inc({ endpoint: model.endpoint });
          }
        }
        throw toGatewayError(error, kind);
      }
    }
  }

  /** One InvokeEndpoint, through the breakers, bounded by the socket timeout and the deadline. */
  private async attempt(request: InvocationRequest, key: string, deadlineAt: number, trace: InvocationTrace): Promise<InvokeEndpointOutput> {
    const { model } = request;
    const { metrics, settings } = this.deps;
    if (request.signal?.aborted) throw callerGoneError(); // nothing is sent for a caller who has gone
    const remaining = deadlineAt - performance.now();
    if (remaining <= 0) throw new AttemptTimeoutError(0, true);
    const byDeadline = remaining < settings.socketTimeoutMs;
    const timeoutMs = Math.ceil(Math.min(remaining, settings.socketTimeoutMs));
    const startedAt = performance.now();
    trace.attempts++;
    let outcome = 'success';
    try {
      const output = await this.deps.breakers.run(model.endpoint, key, model.name, () =>
        this.sendWithTimeout(request, timeoutMs, byDeadline),
      );
      trace.upstreamRequestId = output.upstreamRequestId;
      return output;
    } catch (error) {
      outcome = isGatewayError(error) ? 'circuit_open' : classifyUpstreamError(error);
      throw error;
    } finally {
      if (outcome === 'circuit_open') trace.attempts--; // nothing was sent upstream
      else {
        if (outcome === 'abandoned') trace.upstreamAborted = true;
        metrics.upstreamRequests.inc({ model: metrics.modelLabel(model.name), endpoint: model.endpoint, outcome });
        metrics.upstreamDuration.observe({ endpoint: model.endpoint, outcome }, (performance.now() - startedAt) / 1000);
      }
    }
  }

  private async sendWithTimeout(request: InvocationRequest, timeoutMs: number, byDeadline: boolean): Promise<InvokeEndpointOutput> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const { signal: callerSignal } = request;
    const onCallerGone = () => controller.abort();
    callerSignal?.addEventListener('abort', onCallerGone, { once: true });
    try {
      return await this.deps.transport.invokeEndpoint(
        {
          endpoint: request.model.endpoint,
          targetModel: request.model.targetModel,
          body: request.body,
          contentType: request.contentType,
          accept: request.accept,
          customAttributes: request.customAttributes,
          inferenceId: request.inferenceId,
          targetVariant: request.targetVariant,
        },
        controller.signal,
      );
    } catch (error) {
      if (callerSignal?.aborted) throw new AttemptAbandonedError();
      if (controller.signal.aborted) throw new AttemptTimeoutError(timeoutMs, byDeadline);
      throw error;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerGone);
    }
  }

  private notReadyError({ model, callerTimeoutMs, loadWaitMs }: InvocationRequest): GatewayError {
    const budgetMs = model.coldStartBudgetMs;
    const deadline =
      callerTimeoutMs !== undefined && callerTimeoutMs < Math.min(budgetMs, loadWaitMs ?? Infinity)
        ? 'caller'
        : loadWaitMs !== undefined && loadWaitMs < budgetMs
          ? 'ready-wait'
          : 'cold-start-budget';
    const which = {
      caller: "the caller's deadline",
      'ready-wait': `the ${(loadWaitMs ?? 0) / 1000} s this route waits for a loading model`,
      'cold-start-budget': `the cold-start budget of ${budgetMs / 1000} s`,
    }[deadline];
    return gatewayError('MODEL_NOT_READY', `Model "${model.name}" is still loading; ${which} passed before it was ready.`, {
      retryAfterSeconds: Math.max(1, Math.ceil(this.deps.settings.notReadyRetryMaxMs / 1000)),
      extensions: { deadline },
    });
  }

  private budget(endpoint: string): RetryBudget {
    let budget = this.budgets.get(endpoint);
    if (!budget) {
      budget = new RetryBudget(this.deps.settings.retryBudgetPercent);
      this.budgets.set(endpoint, budget);
    }
    return budget;
  }
}
