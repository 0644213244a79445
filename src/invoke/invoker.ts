/**
 * The path from a resolved model to SageMaker. A model not known warm goes through the
 * cold-start gate (single flight: one probe, the others wait); then InvokeEndpoint attempts, each
 * through the endpoint and model breakers, with ModelNotReadyException retried until the
 * deadline and transient errors retried a few times within the retry budget. Callers see one
 * answer: a result, or one GatewayError. Every call is labelled cold or warm from the evidence
 * it gathered on the way (cold-evidence.ts), and its outcome teaches the model state. Traffic
 * runs through the steps around it (measured, fallbacks across the catalog's targets); see
 * `invoke` and `invokeTarget`.
 *
 * Caller departure: `request.signal` aborts when the caller's connection closes. The invoker
 * checks it at the few points that wait or send (the gate, the backoff sleep, each attempt) and
 * aborts an attempt in flight, so nothing is sent, or kept running, for a caller who has gone.
 */
import { gatewayError, type GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { BreakerRegistry, BreakerStates } from './breakers.js';
import { type ColdReason, coldReasonFromTiming } from './cold-evidence.js';
import { type ColdStartGate, gateWaitFailure } from './cold-start-gate.js';
import { type ModelRef, type ModelStateStore, type ModelStatus, modelKey, unknownModel } from './model-state.js';
import { type Clock, RetryBudget, backoffDelayMs, systemClock } from './retry-policy.js';
import { UpstreamAttempts } from './attempt.js';
import { type InvocationRequest, type InvocationResult, type InvocationTrace, invokeEndpointParams } from './invocation.js';
import type { UpstreamTransport } from './transport.js';
import { type Invoke, withFallbacks } from './fallbacks.js';
import { countedPerTarget, measured } from './invocation-steps.js';
import { UpstreamFailure, asGatewayError, isTransient, toGatewayError } from './upstream-errors.js';

export { type InvocationRequest, type InvocationResult, type InvocationTrace, newTrace } from './invocation.js';

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
  /** Monotonic time and waiting (performance.now and setTimeout unless a test injects its own). */
  clock?: Clock;
}

export interface ModelReport extends ModelStatus {
  breakers: BreakerStates;
  waiting: number;
}

/**
 * How the attempts of one caller ended: answered, or the model turned out to be loading while
 * the caller was not the probe (it then joins the gate like any caller of a cold model).
 */
type AttemptsOutcome = { kind: 'answered'; output: InvocationResult } | { kind: 'model_loading' };

/** The probe retries ModelNotReadyException itself; a direct caller hands over to the gate. */
type CallerRole = 'probe' | 'direct';

export class Invoker {
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly attempts: UpstreamAttempts;

  constructor(private readonly deps: InvokerDeps) {
    this.random = deps.random ?? Math.random;
    this.clock = deps.clock ?? systemClock;
    const { transport, breakers, metrics, settings } = deps;
    this.attempts = new UpstreamAttempts({ transport, breakers, metrics, clock: this.clock, socketTimeoutMs: settings.socketTimeoutMs });
    const { states } = deps;
    const fallbacks = withFallbacks({
      isWarm: (target) => states.isWarm(target),
      isOpen: (target) => Object.values(breakers.states(target.endpoint, modelKey(target.endpoint, target.targetModel))).includes('open'),
      expectedColdStartMs: (target) => {
        const known = states.get(target);
        return known?.lastStart === 'cold' && known.lastLatencyMs !== undefined ? known.lastLatencyMs : target.coldStartBudgetMs;
      },
      onFallback: (model, from, reason) => metrics.fallbacks.inc({ model: metrics.modelLabel(model.name), from: from.label, reason }),
    });
    this.invoke = measured(metrics, () => this.clock.now())(fallbacks(countedPerTarget(metrics)(this.invokeTarget)));
  }

  /**
   * One caller's request, as traffic: measured once, across the model's targets in fallback
   * order, each target's result counted (invocation-steps.ts, fallbacks.ts).
   */
  readonly invoke: Invoke;

  /**
   * One target (the request's model as resolved for it), unmeasured: the cold-start gate, the
   * attempts and breakers. Rejects only with a GatewayError. Keep-warm calls come straight here.
   */
  readonly invokeTarget: Invoke = async (request, trace) => {
    try {
      return await this.invokeWithColdStart(request, trace);
    } catch (error) {
      throw asGatewayError(error);
    } finally {
      trace.modelStart = trace.coldReason ? 'cold' : 'warm';
    }
  };

  report(model: ModelRef): ModelReport {
    const status = this.deps.states.get(model) ?? unknownModel(model);
    const key = modelKey(model.endpoint, model.targetModel);
    return { ...status, name: model.name, breakers: this.deps.breakers.states(model.endpoint, key), waiting: this.deps.gate.waiting(key) };
  }

  knownModels(): ModelStatus[] {
    return this.deps.states.list();
  }

  private async invokeWithColdStart(request: InvocationRequest, trace: InvocationTrace): Promise<InvocationResult> {
    const { model } = request;
    const { states, gate } = this.deps;
    const key = modelKey(model.endpoint, model.targetModel);
    const deadlineAt = request.receivedAt + Math.min(model.coldStartBudgetMs, request.callerTimeoutMs ?? Infinity);
    // Waiting on a load (queue and probe retries) may be bounded tighter than the whole request.
    const loadDeadlineAt = Math.min(deadlineAt, request.receivedAt + (request.loadWaitMs ?? Infinity));
    this.budget(model.endpoint).recordRequest();

    for (;;) {
      if (states.isWarm(model)) {
        const outcome = await this.attemptWithRetries(request, key, deadlineAt, trace, 'direct');
        if (outcome.kind === 'answered') return outcome.output;
        continue; // the model is loading again: through the gate
      }
      const before = states.mark(model);
      const role = await this.waitForLoad(key, loadDeadlineAt, request);
      const meanwhile = states.since(model, before);
      if (meanwhile.loaded) trace.coldReason ??= 'waited';
      if (role === 'released') continue;
      if (meanwhile.failedLoad) {
        // A herd on a model that cannot load shares the one failed load and fails together.
        gate.failed(key);
        throw sameFailure(meanwhile.failedLoad);
      }
      try {
        const outcome = await this.attemptWithRetries(request, key, loadDeadlineAt, trace, 'probe');
        gate.succeeded(key);
        if (outcome.kind === 'answered') return outcome.output;
      } catch (error) {
        // A probe whose caller left ends here too: the next waiter takes the role over.
        if (states.isWarm(model)) gate.succeeded(key);
        else gate.failed(key);
        throw error;
      }
    }
  }

  private async waitForLoad(key: string, deadlineAt: number, request: InvocationRequest) {
    const { model } = request;
    const waitStartedAt = this.clock.now();
    const observeWait = (result: string) =>
      this.deps.metrics.coldQueueWait.observe({ endpoint: model.endpoint, result }, (this.clock.now() - waitStartedAt) / 1000);
    try {
      const role = await this.deps.gate.enter(key, deadlineAt - waitStartedAt, () => this.notReadyError(request), request.signal);
      if (role === 'released') observeWait('released');
      return role;
    } catch (error) {
      observeWait(gateWaitFailure(error));
      throw error;
    }
  }

  /** Attempts until an answer, a final error, the deadline, or (direct callers) a loading model. */
  private async attemptWithRetries(
    request: InvocationRequest,
    key: string,
    deadlineAt: number,
    trace: InvocationTrace,
    role: CallerRole,
  ): Promise<AttemptsOutcome> {
    const { model } = request;
    const { settings, metrics, states } = this.deps;
    const params = invokeEndpointParams(request);
    let notReadyRetries = 0;
    let transientRetries = 0;
    for (;;) {
      const sentAt = this.clock.now();
      let failure: UpstreamFailure;
      try {
        const output = await this.attempts.send({ model, key, params, deadlineAt, signal: request.signal }, () => trace.attempts++);
        trace.upstreamRequestId = output.upstreamRequestId;
        this.recordAnswer(request, key, trace, sentAt, true);
        return { kind: 'answered', output };
      } catch (error) {
        if (!(error instanceof UpstreamFailure)) throw error; // circuit open, caller gone: already final
        failure = error;
      }
      if (failure.kind === 'abandoned') {
        trace.upstreamAborted = true;
        throw toGatewayError(failure.error, failure.kind);
      }
      if (failure.kind === 'not_ready' || failure.kind === 'no_capacity') {
        // An inference component at zero copies is a cold start like a loading model, only longer.
        const reason = failure.kind === 'not_ready' ? 'not_ready' : 'scale_from_zero';
        trace.coldReason ??= reason;
        states.markLoading(model);
        if (reason === 'not_ready') metrics.modelNotReady.inc({ model: metrics.modelLabel(model.name), endpoint: model.endpoint });
        if (role === 'direct') return { kind: 'model_loading' };
        const wait = backoffDelayMs(notReadyRetries++, settings.notReadyRetryBaseMs, settings.notReadyRetryMaxMs, this.random);
        if (this.clock.now() + wait >= deadlineAt) throw this.notReadyError(request);
        metrics.retries.inc({ endpoint: model.endpoint, reason });
        await this.clock.sleep(wait, request.signal);
        continue;
      }
      const finalError = toGatewayError(failure.error, failure.kind);
      if (failure.containerAnswered) this.recordAnswer(request, key, trace, sentAt, false);
      if (failure.modelFailure) {
        trace.coldReason ??= this.timingEvidence(request, key, sentAt);
        states.recordFailure(model, finalError, trace.coldReason);
      }
      if (failure.kind === 'deadline' && !states.isWarm(model)) throw this.notReadyError(request);
      if (isTransient(failure.kind) && transientRetries < settings.transientRetries) {
        // The not-ready maximum caps this backoff too (documented with NOT_READY_RETRY_MAX_MS).
        const wait = backoffDelayMs(transientRetries, settings.transientRetryBaseMs, settings.notReadyRetryMaxMs, this.random);
        if (this.clock.now() + wait < deadlineAt) {
          if (this.budget(model.endpoint).tryRetry()) {
            transientRetries++;
            metrics.retries.inc({ endpoint: model.endpoint, reason: 'transient' });
            await this.clock.sleep(wait, request.signal);
            continue;
          }
          metrics.retryBudgetExhausted.inc({ endpoint: model.endpoint });
        }
      }
      throw finalError;
    }
  }

  /** The container answered (a result, or its own 4xx): the model is loaded; learn from the timing. */
  private recordAnswer(request: InvocationRequest, key: string, trace: InvocationTrace, sentAt: number, succeeded: boolean): void {
    const now = this.clock.now();
    trace.coldReason ??= this.timingEvidence(request, key, sentAt);
    this.deps.states.recordAnswer(request.model, {
      upstreamMs: now - sentAt,
      coldReason: trace.coldReason,
      succeeded,
      latencyMs: now - request.receivedAt,
      attemptWindow: { from: sentAt, to: now },
    });
  }

  private timingEvidence(request: InvocationRequest, key: string, sentAt: number): ColdReason | undefined {
    const answeredAt = this.clock.now();
    const oldestInFlightSentAt = this.attempts.oldestInFlightSentAt(key);
    return coldReasonFromTiming(
      { upstreamMs: answeredAt - sentAt, sentAt, answeredAt, oldestInFlightSentAt },
      this.deps.states.get(request.model),
      request.model.coldEvidence,
    );
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

/** A fresh error with the same answer, so no two responses share one error object. */
function sameFailure(error: GatewayError): GatewayError {
  return gatewayError(error.code, error.message, {
    status: error.status,
    extensions: error.extensions,
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
  });
}
