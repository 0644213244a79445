/**
 * The tracing interceptors for the request path (see TracingInterceptors): each wraps one
 * method of a component built by the composition root, finds the request's spans through
 * AsyncLocalStorage, and passes everything else through untouched. Work done outside a
 * request (MODEL_PRELOAD at start-up, keep-warm calls) is not traced.
 */
import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { isGatewayError } from '../errors.js';
import type { BreakerRegistry } from '../invoke/breakers.js';
import { type ColdStartGate, gateWaitFailure } from '../invoke/cold-start-gate.js';
import type { Invoker } from '../invoke/invoker.js';
import { type ModelStateStore, endpointOfKey, targetModelOfKey } from '../invoke/model-state.js';
import type { Clock } from '../invoke/retry-policy.js';
import { classifyUpstreamError } from '../invoke/upstream-errors.js';
import type { TracingInterceptors } from './load.js';
import { requestSpans } from './request-spans.js';
import { ATTR, COLD_START_WAIT_SPAN, EVENT, INVOKE_SPAN, RPC } from './semconv.js';

/** Replaces `target[method]` with `wrap(original)`, in place, and returns the target. */
function intercept<T extends object, K extends keyof T>(target: T, method: K, wrap: (next: T[K]) => T[K]): T {
  const original = (target[method] as (...args: unknown[]) => unknown).bind(target) as T[K];
  target[method] = wrap(original);
  return target;
}

/** The SDK's exception name (ModelNotReadyException, ModelError, …), never its message. */
function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? 'Error';
}

export function tracingInterceptors(tracer: Tracer): TracingInterceptors {
  return {
    transport: (next) => ({
      async invokeEndpoint(params, signal) {
        const spans = requestSpans.getStore();
        if (!spans) return next.invokeEndpoint(params, signal);
        const span = tracer.startSpan(
          INVOKE_SPAN,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              [ATTR.rpcSystem]: RPC.system,
              [ATTR.rpcService]: RPC.service,
              [ATTR.rpcMethod]: RPC.method,
              [ATTR.endpoint]: params.endpoint,
              [ATTR.targetModel]: params.targetModel,
              ...(params.targetVariant !== undefined ? { [ATTR.targetVariant]: params.targetVariant } : {}),
              [ATTR.attempt]: ++spans.attempts,
            },
          },
          spans.context,
        );
        try {
          const output = await next.invokeEndpoint(params, signal);
          span.setAttribute(ATTR.outcome, 'success');
          spans.lastOutcome = 'success';
          if (output.upstreamRequestId !== undefined) span.setAttribute(ATTR.awsRequestId, output.upstreamRequestId);
          return output;
        } catch (error) {
          // An abort is the caller leaving, or else the invoker's own per-attempt timeout or deadline.
          const aborted = signal.aborted ? (spans.callerSignal?.aborted ? 'abandoned' : 'timeout') : undefined;
          const outcome = aborted ?? classifyUpstreamError(error);
          const type = aborted === 'abandoned' ? 'CallerClosedRequest' : aborted === 'timeout' ? 'AttemptTimeout' : errorName(error);
          span.setAttributes({ [ATTR.outcome]: outcome, [ATTR.errorType]: type });
          spans.lastOutcome = outcome;
          span.setStatus({ code: SpanStatusCode.ERROR, message: type });
          throw error;
        } finally {
          span.end();
        }
      },
      close: () => next.close(),
    }),

    gate: (gate: ColdStartGate, states: ModelStateStore) =>
      intercept(gate, 'enter', (enter) => (key, ...rest) => {
        const spans = requestSpans.getStore();
        if (!spans) return enter(key, ...rest);
        const endpoint = endpointOfKey(key);
        const targetModel = targetModelOfKey(key);
        // What the gateway knew when the request reached the gate (the store keys on endpoint and
        // target only); the request's own cold reason, from evidence, is on the server span.
        const status = states.get({ name: targetModel, endpoint, targetModel });
        const span = tracer.startSpan(
          COLD_START_WAIT_SPAN,
          {
            attributes: {
              [ATTR.endpoint]: endpoint,
              [ATTR.targetModel]: targetModel,
              [ATTR.modelState]: status?.state ?? 'unknown',
              ...(status?.lastColdReason !== undefined ? { [ATTR.lastColdReason]: status.lastColdReason } : {}),
            },
          },
          spans.context,
        );
        return enter(key, ...rest).then(
          (role) => {
            span.setAttribute(ATTR.gateResult, role);
            span.end();
            return role;
          },
          (error: unknown) => {
            const code = isGatewayError(error) ? error.code : errorName(error);
            span.setAttributes({ [ATTR.gateResult]: gateWaitFailure(error), [ATTR.errorType]: code });
            span.setStatus({ code: SpanStatusCode.ERROR, message: code });
            span.end();
            throw error;
          },
        );
      }),

    breakers: (breakers: BreakerRegistry) =>
      intercept(breakers, 'run', (run) => (...args) =>
        run(...args).catch((error: unknown) => {
          const spans = requestSpans.getStore();
          if (spans && isGatewayError(error) && error.code === 'CIRCUIT_OPEN') {
            spans.server.addEvent(EVENT.breakerRejected, { [ATTR.reason]: error.message });
          }
          throw error;
        })),

    invoker: (invoker: Invoker) =>
      intercept(invoker, 'invoke', (invoke) => (...args) =>
        invoke(...args).catch((error: unknown) => {
          const spans = requestSpans.getStore();
          if (spans) recordDeadline(spans.server, error);
          throw error;
        })),

    clock: (clock: Clock) => ({
      now: () => clock.now(),
      sleep(ms, signal) {
        const spans = requestSpans.getStore();
        spans?.server.addEvent(EVENT.backoff, { [ATTR.backoffMs]: ms, [ATTR.backoffAfter]: spans.lastOutcome ?? 'none' });
        return clock.sleep(ms, signal);
      },
    }),
  };
}

/** Deadline expiries (the caller's, or the cold-start budget) as an event with which one. */
function recordDeadline(span: Span, error: unknown): void {
  if (!isGatewayError(error)) return;
  const deadline = error.extensions?.['deadline'];
  if (error.code === 'DEADLINE_EXCEEDED' || deadline !== undefined) {
    span.addEvent(EVENT.deadlineExpired, { [ATTR.reason]: typeof deadline === 'string' ? deadline : error.code });
  }
}
