/**
 * Unit tests of the invoker's retry, single-flight and breaker logic with a scripted
 * transport in place of the SDK (the acceptance tests run the same paths through the real
 * SDK against the local MME).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { ModelError, ModelNotReadyException, ServiceUnavailable } from '@aws-sdk/client-sagemaker-runtime';
import type { ResolvedModel } from '../../src/catalog.js';
import { GatewayError } from '../../src/errors.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { BreakerRegistry } from '../../src/invoke/breakers.js';
import { ColdStartGate } from '../../src/invoke/cold-start-gate.js';
import { type InvocationTrace, Invoker } from '../../src/invoke/invoker.js';
import { ModelStateStore } from '../../src/invoke/model-state.js';
import type { InvokeEndpointParams, UpstreamTransport } from '../../src/invoke/transport.js';

const meta = { $metadata: {} };

/** A pretend MME: each model loads `loadMs` after its first request; until then ModelNotReady. */
function scriptedTransport(behaviour: (params: InvokeEndpointParams) => Promise<void> | void) {
  const calls: string[] = [];
  const transport: UpstreamTransport = {
    async invokeEndpoint(params, signal) {
      calls.push(params.targetModel);
      await behaviour(params);
      if (signal.aborted) throw new Error('aborted');
      return { body: new TextEncoder().encode('0.5\n'), contentType: 'text/csv', customAttributes: undefined, invokedVariant: 'AllTraffic', upstreamRequestId: 'req-1' };
    },
    close() {},
  };
  return { transport, calls };
}

function loadingModels(loadMs: number) {
  const loadedAt = new Map<string, number>();
  return (params: InvokeEndpointParams) => {
    const now = performance.now();
    if (!loadedAt.has(params.targetModel)) loadedAt.set(params.targetModel, now + loadMs);
    if (now < loadedAt.get(params.targetModel)!) throw new ModelNotReadyException({ ...meta, message: 'loading' });
  };
}

function build(transport: UpstreamTransport, overrides: Partial<ConstructorParameters<typeof BreakerRegistry>[0]> = {}) {
  const metrics = new GatewayMetrics(100, { collectProcessMetrics: false });
  const breakers = new BreakerRegistry(
    { errorThresholdPercent: 50, volumeThreshold: 5, rollingWindowMs: 10_000, resetTimeoutMs: 200, maxModelBreakers: 50, ...overrides },
    metrics,
  );
  const states = new ModelStateStore(100);
  const invoker = new Invoker({
    transport,
    breakers,
    gate: new ColdStartGate({ maxWaitersPerModel: 100 }),
    states,
    metrics,
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

function model(name: string, budgetMs = 5_000): ResolvedModel {
  return { name, endpoint: 'ep', targetModel: `${name}.tar.gz`, coldStartBudgetMs: budgetMs, warmup: undefined };
}

function call(invoker: Invoker, m: ResolvedModel, callerTimeoutMs?: number) {
  const trace: InvocationTrace = { start: 'cold', attempts: 0, upstreamRequestId: undefined };
  const body = new TextEncoder().encode('1,2,3');
  const promise = invoker.invoke(
    { model: m, body, contentType: 'text/csv', accept: undefined, customAttributes: undefined, inferenceId: undefined, targetVariant: undefined, callerTimeoutMs, receivedAt: performance.now() },
    trace,
  );
  return { promise, trace };
}

const isCode = (code: string) => (error: unknown) => error instanceof GatewayError && error.code === code;

describe('invoker', () => {
  it('turns a cold burst of 20 into one probe plus one call per waiter', async () => {
    const { transport, calls } = scriptedTransport(loadingModels(150));
    const { invoker } = build(transport);
    const burst = Array.from({ length: 20 }, () => call(invoker, model('churn')));
    const results = await Promise.all(burst.map((b) => b.promise));
    assert.equal(results.length, 20);
    const probeRetries = calls.length - 20;
    assert.ok(probeRetries >= 1 && probeRetries <= 15, `upstream calls ${calls.length}`);
    assert.ok(burst.every((b) => b.trace.start === 'cold'));
    const warm = call(invoker, model('churn'));
    await warm.promise;
    assert.equal(warm.trace.start, 'warm');
    assert.equal(warm.trace.attempts, 1);
  });

  it("answers MODEL_NOT_READY when the caller's deadline passes during the load", async () => {
    const { transport } = scriptedTransport(loadingModels(2_000));
    const { invoker } = build(transport);
    const startedAt = performance.now();
    const waiter = call(invoker, model('slow'), 120);
    const other = call(invoker, model('slow'), 120);
    await assert.rejects(waiter.promise, (e: unknown) => isCode('MODEL_NOT_READY')(e) && (e as GatewayError).extensions['deadline'] === 'caller');
    await assert.rejects(other.promise, isCode('MODEL_NOT_READY'));
    const elapsed = performance.now() - startedAt;
    assert.ok(elapsed < 400, `took ${elapsed} ms`);
  });

  it('answers MODEL_NOT_READY with Retry-After when the cold-start budget runs out', async () => {
    const { transport } = scriptedTransport(loadingModels(2_000));
    const { invoker } = build(transport);
    await assert.rejects(call(invoker, model('huge', 150)).promise, (e: unknown) => {
      assert.ok(isCode('MODEL_NOT_READY')(e));
      assert.ok(((e as GatewayError).retryAfterSeconds ?? 0) >= 1);
      assert.equal((e as GatewayError).extensions['deadline'], 'cold-start-budget');
      return true;
    });
  });

  it('retries a transient error once and succeeds', async () => {
    let failures = 1;
    const { transport, calls } = scriptedTransport(() => {
      if (failures-- > 0) throw new ServiceUnavailable({ ...meta, message: 'blip' });
    });
    const { invoker } = build(transport);
    const first = call(invoker, model('flaky'));
    await first.promise;
    assert.equal(calls.length, 2);
    assert.equal(first.trace.attempts, 2);
  });

  it('does not retry a ModelError; opens the model breaker and leaves other models alone', async () => {
    const { transport, calls } = scriptedTransport((params) => {
      if (params.targetModel === 'broken.tar.gz') {
        throw new ModelError({ ...meta, message: 'boom', OriginalStatusCode: 500, OriginalMessage: 'segfault' });
      }
    });
    const { invoker, breakers } = build(transport);
    for (let i = 0; i < 5; i++) await assert.rejects(call(invoker, model('broken')).promise, isCode('MODEL_ERROR'));
    assert.equal(calls.length, 5, 'ModelError is not retried');
    await assert.rejects(call(invoker, model('broken')).promise, (e: unknown) => isCode('CIRCUIT_OPEN')(e) && (e as GatewayError).retryAfterSeconds === 1);
    assert.equal(calls.length, 5, 'an open breaker sends nothing upstream');
    await call(invoker, model('healthy')).promise;
    assert.equal(breakers.states('ep', 'ep\nhealthy.tar.gz').endpoint, 'closed');
  });

  it('closes the breaker again after the model recovers', async () => {
    let broken = true;
    const { transport } = scriptedTransport(() => {
      if (broken) throw new ModelError({ ...meta, message: 'boom', OriginalStatusCode: 503 });
    });
    const { invoker, breakers } = build(transport);
    for (let i = 0; i < 5; i++) await assert.rejects(call(invoker, model('m')).promise, isCode('MODEL_ERROR'));
    assert.equal(breakers.states('ep', 'ep\nm.tar.gz').model, 'open');
    broken = false;
    await new Promise((resolve) => setTimeout(resolve, 250));
    await call(invoker, model('m')).promise;
    assert.equal(breakers.states('ep', 'ep\nm.tar.gz').model, 'closed');
  });

  it('never counts a client error (ModelError 4xx) against the breaker', async () => {
    const { transport } = scriptedTransport(() => {
      throw new ModelError({ ...meta, message: 'bad csv', OriginalStatusCode: 400 });
    });
    const { invoker, breakers } = build(transport);
    for (let i = 0; i < 10; i++) await assert.rejects(call(invoker, model('picky')).promise, (e: unknown) => isCode('MODEL_ERROR')(e) && (e as GatewayError).status === 400);
    assert.equal(breakers.states('ep', 'ep\npicky.tar.gz').model, 'closed');
  });

  it('keeps breakers and model state bounded across 10,000 model names', async () => {
    const { transport } = scriptedTransport(() => {});
    const { invoker, breakers, states } = build(transport);
    for (let i = 0; i < 10_000; i++) await call(invoker, model(`m${i}`)).promise;
    assert.equal(breakers.liveModelBreakers, 50);
    assert.equal(states.size, 100);
    breakers.shutdown();
  });
});
