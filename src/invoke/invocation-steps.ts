/**
 * The steps around the per-target invocation, undici-interceptor style: each takes the next
 * `invoke` and returns one that does a little more. Traffic runs through
 *   measured → withFallbacks (fallbacks.ts) → countedPerTarget → Invoker.invokeTarget
 * so a request is measured once however many targets it tried, and each target's own result is
 * counted. Gateway-made calls that are not traffic (keep-warm) call invokeTarget directly.
 */
import { performance } from 'node:perf_hooks';
import type { GatewayMetrics } from '../metrics.js';
import type { Invoke } from './fallbacks.js';
import type { InvocationResult } from './invocation.js';
import { asGatewayError, invocationOutcome } from './upstream-errors.js';

/**
 * One invocation-histogram sample (and at most one cold start) per request, labelled with the
 * endpoint of the target that served it, and the request's and answer's payload sizes.
 */
export function measured(metrics: GatewayMetrics, now: () => number = () => performance.now()): (invoke: Invoke) => Invoke {
  return (invoke) => async (request, trace) => {
    metrics.requestPayloadBytes.observe(request.input.body.length);
    let outcome: ReturnType<typeof invocationOutcome> = 'success';
    let result: InvocationResult;
    try {
      result = await invoke(request, trace);
    } catch (error) {
      const failure = asGatewayError(error);
      outcome = invocationOutcome(failure);
      throw failure;
    } finally {
      const served = request.model.targets.find((target) => target.label === trace.target) ?? request.model;
      const model = metrics.modelLabel(request.model.name);
      // A fresh label object per sample, not a shared one spread: prom-client keeps the first of
      // each series, so one object cannot be reused across samples anyway.
      metrics.invocationDuration.observe({ model, endpoint: served.endpoint, start: trace.modelStart, outcome }, (now() - request.receivedAt) / 1000);
      if (trace.coldReason) metrics.coldStarts.inc({ model, endpoint: served.endpoint, reason: trace.coldReason });
    }
    metrics.responsePayloadBytes.observe(result.body.length);
    return result;
  };
}

/** mme_gateway_target_invocations_total: how each target's part of a request ended. */
export function countedPerTarget(metrics: GatewayMetrics): (invoke: Invoke) => Invoke {
  return (invoke) => async (request, trace) => {
    let outcome: ReturnType<typeof invocationOutcome> = 'success';
    try {
      return await invoke(request, trace);
    } catch (error) {
      outcome = invocationOutcome(asGatewayError(error));
      throw error;
    } finally {
      metrics.targetInvocations.inc({ model: metrics.modelLabel(request.model.name), target: request.model.label, outcome });
    }
  };
}
