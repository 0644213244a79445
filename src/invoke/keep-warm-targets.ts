/**
 * Keep-warm for the catalog: a KeepWarmTarget for each target of every model with `keepWarm`,
 * warmed through Invoker.invokeTarget (breakers, cold-start gate, the model's warm-up payload)
 * and never through the traffic steps, so keep-warm is not measured as an invocation. A
 * container's 4xx to the payload still proves the model is loaded (warmup.ts).
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedModel } from '../catalog.js';
import type { GatewayMetrics } from '../metrics.js';
import type { BreakerRegistry } from './breakers.js';
import { type Invoke, viewOf } from './fallbacks.js';
import { newTrace } from './invocation.js';
import { KeepWarmScheduler, type KeepWarmTarget } from './keep-warm.js';
import { type ModelStateStore, modelKey } from './model-state.js';
import { warmUp } from './warmup.js';

export interface CatalogKeepWarmDeps {
  models: ResolvedModel[];
  invokeTarget: Invoke;
  states: ModelStateStore;
  breakers: BreakerRegistry;
  metrics: GatewayMetrics;
  maxPerSecond: number;
}

export function catalogKeepWarm(deps: CatalogKeepWarmDeps): KeepWarmScheduler {
  const { states, breakers, metrics } = deps;
  const viewsByKey = new Map<string, ResolvedModel>();
  const targets: KeepWarmTarget[] = deps.models.flatMap((model) => {
    const keepWarm = model.keepWarm;
    if (!keepWarm) return [];
    return model.targets.map((target) => {
      const view = viewOf(model, target);
      const warm = async (signal: AbortSignal) => {
        const trace = newTrace();
        await warmUp(view, undefined, (input) =>
          deps.invokeTarget({ model: view, input, callerTimeoutMs: undefined, receivedAt: performance.now(), signal }, trace),
        );
      };
      const key = modelKey(view.endpoint, view.targetModel);
      viewsByKey.set(key, view);
      return { key, endpoint: view.endpoint, model: model.name, intervalMs: keepWarm.intervalMs, warm };
    });
  });
  return new KeepWarmScheduler({
    targets,
    // Any answer, traffic or keep-warm, proves the model resident (epoch ms, as Date.now).
    lastActivityAt: (key) => {
      const view = viewsByKey.get(key);
      return view && states.get(view)?.lastSuccessAt;
    },
    isPaused: (target) => Object.values(breakers.states(target.endpoint, target.key)).some((state) => state !== 'closed'),
    onOutcome: (target, outcome) => metrics.keepWarm.inc({ model: metrics.modelLabel(target.model), endpoint: target.endpoint, outcome }),
    maxPerSecond: deps.maxPerSecond,
  });
}
