/**
 * Ordered, cold-aware fallbacks: a step around the per-target invocation. A catalog model's
 * targets are tried one after another, never two at once, in priority order except that
 *  - a target whose breakers are open is passed over (reason circuit_open);
 *  - a target not known warm is passed over for a later one known warm when the model asks for
 *    it (`preferWarm`) or when its cold start cannot fit in the caller's deadline (reason cold);
 *  - a target that fails with CIRCUIT_OPEN, UPSTREAM_THROTTLED, UPSTREAM_UNAVAILABLE or
 *    UPSTREAM_UNREACHABLE hands over to the next (reason: that failure).
 * The caller's own errors (4xx, a container's 4xx ModelError), a model error, a cold start that
 * ran out of time and a full queue are final: another target would answer them the same way or
 * the caller's time is gone. The last target's answer, whatever it is, is the caller's.
 */
import type { ResolvedModel } from '../catalog.js';
import type { UpstreamTarget } from '../catalog-targets.js';
import { type ErrorCode, isGatewayError } from '../errors.js';
import type { InvocationRequest, InvocationResult, InvocationTrace } from './invoker.js';

export const fallbackReasons = ['circuit_open', 'cold', 'throttled', 'unavailable', 'unreachable'] as const;
export type FallbackReason = (typeof fallbackReasons)[number];

/** Failures another target may not share: the endpoint, its region or its capacity. */
const FAILOVER_ON: Partial<Record<ErrorCode, FallbackReason>> = {
  CIRCUIT_OPEN: 'circuit_open',
  UPSTREAM_THROTTLED: 'throttled',
  UPSTREAM_UNAVAILABLE: 'unavailable',
  UPSTREAM_UNREACHABLE: 'unreachable',
};

export type Invoke = (request: InvocationRequest, trace: InvocationTrace) => Promise<InvocationResult>;

export interface FallbackDeps {
  /** Whether the gateway has seen this target answer recently (its model state is warm). */
  isWarm(target: ResolvedModel): boolean;
  /** Whether the target's endpoint or model breaker is open (a call would fail at once). */
  isOpen(target: ResolvedModel): boolean;
  /** How long a cold start of this target is expected to take (ms). */
  expectedColdStartMs(target: ResolvedModel): number;
  onFallback(model: ResolvedModel, from: UpstreamTarget, reason: FallbackReason): void;
}

/** The model as seen when invoking one of its targets. */
export function viewOf(model: ResolvedModel, target: UpstreamTarget): ResolvedModel {
  return { ...model, ...target };
}

export function withFallbacks(deps: FallbackDeps): (invoke: Invoke) => Invoke {
  return (invoke) => async (request, trace) => {
    const { model } = request;
    if (model.targets.length === 1) {
      trace.target = model.targets[0]!.label;
      return invoke(request, trace);
    }
    const views = model.targets.map((target) => viewOf(model, target));
    for (let index = 0; index < views.length; index++) {
      const view = views[index]!;
      const rest = views.slice(index + 1);
      const last = rest.length === 0;
      if (!last && deps.isOpen(view)) {
        deps.onFallback(model, view, 'circuit_open');
        continue;
      }
      if (!last && !deps.isWarm(view) && rest.some((other) => deps.isWarm(other) && !deps.isOpen(other))) {
        const coldDoesNotFit = request.callerTimeoutMs !== undefined && request.callerTimeoutMs < deps.expectedColdStartMs(view);
        if (model.preferWarm || coldDoesNotFit) {
          deps.onFallback(model, view, 'cold');
          continue;
        }
      }
      trace.target = view.label;
      try {
        return await invoke({ ...request, model: view }, trace);
      } catch (error) {
        const reason = isGatewayError(error) ? FAILOVER_ON[error.code] : undefined;
        if (last || reason === undefined) throw error;
        deps.onFallback(model, view, reason);
      }
    }
    throw new Error('unreachable: the last target always answers or throws');
  };
}
