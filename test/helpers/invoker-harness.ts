/**
 * The invoker's unit-test harness: a virtual clock (sleeps and simulated upstream time move it
 * forward at once), a scripted transport in place of the SDK, a pretend MME that loads models,
 * and an Invoker built around them with small, fast settings.
 */
import { ModelNotReadyException } from '@aws-sdk/client-sagemaker-runtime';
import type { ResolvedModel } from '../../src/catalog.js';
import { DEFAULT_UPSTREAM } from '../../src/catalog-targets.js';
import { GatewayError } from '../../src/errors.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { BreakerRegistry } from '../../src/invoke/breakers.js';
import { ColdStartGate } from '../../src/invoke/cold-start-gate.js';
import { Invoker, newTrace } from '../../src/invoke/invoker.js';
import { ModelStateStore } from '../../src/invoke/model-state.js';
import type { Clock } from '../../src/invoke/retry-policy.js';
import type { InvokeEndpointInput, InvokeEndpointParams, UpstreamTransport } from '../../src/invoke/transport.js';

export const meta = { $metadata: {} };

/** Virtual time: sleeping and upstream work move it forward at once instead of waiting. */
export function virtualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms) => {
      now += ms;
    },
  };
}

export type Behaviour = (params: InvokeEndpointParams) => Promise<void> | void;

export function scriptedTransport(behaviour: Behaviour) {
  const calls: string[] = [];
  const transport: UpstreamTransport = {
    async invokeEndpoint(params, signal) {
      calls.push(params.targetModel ?? '');
      await behaviour(params);
      if (signal.aborted) throw new Error('aborted');
      return { body: new TextEncoder().encode('0.5\n'), contentType: 'text/csv', customAttributes: undefined, invokedVariant: 'AllTraffic', upstreamRequestId: 'req-1' };
    },
    close() {},
  };
  return { transport, calls };
}

/** A pretend MME: a model is loaded `loadMs` after its first request; until then ModelNotReady. */
export function loadingModels(clock: Clock, loadMs: number): Behaviour {
  const loadedAt = new Map<string, number>();
  return (params) => {
    const target = params.targetModel ?? '';
    if (!loadedAt.has(target)) loadedAt.set(target, clock.now() + loadMs);
    if (clock.now() < loadedAt.get(target)!) throw new ModelNotReadyException({ ...meta, message: 'loading' });
  };
}

export const evidence = { baselineFactor: 5, baselineFloorMs: 1_000, firstCallMs: 1_000 };

export function build(transport: UpstreamTransport, clock: Clock, breakerOverrides: Partial<ConstructorParameters<typeof BreakerRegistry>[0]> = {}) {
  const metrics = new GatewayMetrics(100, { collectProcessMetrics: false });
  const breakers = new BreakerRegistry(
    { errorThresholdPercent: 50, volumeThreshold: 5, rollingWindowMs: 10_000, resetTimeoutMs: 200, maxModelBreakers: 50, consecutiveFailures: 5, ...breakerOverrides },
    metrics,
  );
  const states = new ModelStateStore(100);
  const invoker = new Invoker({
    transport,
    breakers,
    gate: new ColdStartGate({ maxWaitersPerModel: 100 }),
    states,
    metrics,
    clock,
    settings: {
      socketTimeoutMs: 2_000,
      notReadyRetryBaseMs: 20,
      notReadyRetryMaxMs: 40,
      transientRetries: 2,
      transientRetryBaseMs: 5,
      retryBudgetPercent: 10,
    },
  });
  return { invoker, breakers, states, metrics };
}

export function model(name: string, budgetMs = 5_000): ResolvedModel {
  const target = {
    label: 'primary',
    endpoint: 'ep',
    targetModel: `${name}.tar.gz`,
    address: { endpointName: 'ep', targetModel: `${name}.tar.gz`, inferenceComponent: undefined, targetContainerHostname: undefined, targetVariant: undefined },
    upstream: DEFAULT_UPSTREAM,
    coldStartBudgetMs: budgetMs,
  };
  return { ...target, name, warmup: undefined, coldEvidence: evidence, targets: [target], preferWarm: false, keepWarm: undefined };
}

/** A CSV body without any optional SageMaker header. */
export function csvInput(row: string): InvokeEndpointInput {
  return { body: new TextEncoder().encode(row), contentType: 'text/csv', accept: undefined, customAttributes: undefined, inferenceId: undefined, targetVariant: undefined };
}

export function call(invoker: Invoker, clock: Clock, m: ResolvedModel, callerTimeoutMs?: number) {
  const trace = newTrace();
  const promise = invoker.invoke({ model: m, input: csvInput('1,2,3'), callerTimeoutMs, receivedAt: clock.now() }, trace);
  return { promise, trace };
}

export const isCode = (code: string) => (error: unknown) => error instanceof GatewayError && error.code === code;
