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
    // Both at once: either may settle first (the probe's give-up and the waiter's timer race).
    await Promise.all([
      assert.rejects(waiter.promise, (e: unknown) => isCode('MODEL_NOT_READY')(e) && (e as GatewayError).extensions['deadline'] === 'caller'),
      assert.rejects(other.promise, isCode('MODEL_NOT_READY')),
    ]);
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

describe('invoker: callers who leave', () => {
  /** Each attempt waits until `release()` or until its signal aborts (as undici and the SDK do). */
  function heldTransport() {
    const attempts: Array<{ signal: AbortSignal; release: () => void }> = [];
    const transport: UpstreamTransport = {
      invokeEndpoint(_params, signal) {
        return new Promise((resolve, reject) => {
          const release = () =>
            resolve({ body: new TextEncoder().encode('0.5\n'), contentType: 'text/csv', customAttributes: undefined, invokedVariant: 'AllTraffic', upstreamRequestId: 'r' });
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          attempts.push({ signal, release });
        });
      },
      close() {},
    };
    return { transport, attempts };
  }
  const request = (m: ResolvedModel, extra: { signal?: AbortSignal; loadWaitMs?: number } = {}) => ({
    model: m,
    body: new TextEncoder().encode('1'),
    contentType: 'text/csv',
    accept: undefined,
    customAttributes: undefined,
    inferenceId: undefined,
    targetVariant: undefined,
    callerTimeoutMs: undefined,
    receivedAt: performance.now(),
    ...extra,
  });
  const newTrace = (): InvocationTrace => ({ start: 'cold', attempts: 0, upstreamRequestId: undefined });
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("aborts the departed probe's attempt and hands the probe role to a waiter, which is served", async () => {
    const { transport, attempts } = heldTransport();
    const { invoker, metrics } = build(transport);
    const probeCaller = new AbortController();
    const probeTrace = newTrace();
    const probe = invoker.invoke(request(model('m'), { signal: probeCaller.signal }), probeTrace);
    await settle();
    const waiter = invoker.invoke(request(model('m'), { signal: new AbortController().signal }), newTrace());
    await settle();
    assert.equal(attempts.length, 1);
    probeCaller.abort();
    await assert.rejects(probe, isCode('CLIENT_CLOSED_REQUEST'));
    assert.equal(attempts[0]!.signal.aborted, true, 'the attempt in flight was aborted');
    assert.equal(probeTrace.upstreamAborted, true);
    await settle();
    assert.equal(attempts.length, 2, 'the waiter took the probe role over and called upstream');
    attempts[1]!.release();
    await waiter;
    const exposition = await metrics.registry.metrics();
    assert.match(exposition, /mme_gateway_upstream_requests_total\{model="m",endpoint="ep",outcome="abandoned"\} 1/);
    assert.match(exposition, /mme_gateway_invocation_duration_seconds_count\{model="m",endpoint="ep",start="cold",outcome="abandoned"\} 1/);
  });

  it('sends nothing for a waiter that left, and counts its wait as abandoned', async () => {
    const { transport, attempts } = heldTransport();
    const { invoker, metrics } = build(transport);
    const probe = invoker.invoke(request(model('m')), newTrace());
    await settle();
    const leaving = new AbortController();
    const waiter = invoker.invoke(request(model('m'), { signal: leaving.signal }), newTrace());
    await settle();
    leaving.abort();
    await assert.rejects(waiter, isCode('CLIENT_CLOSED_REQUEST'));
    assert.equal(invoker.report(model('m')).waiting, 0);
    attempts[0]!.release();
    await probe;
    await settle();
    assert.equal(attempts.length, 1, 'only the probe called upstream');
    assert.match(await metrics.registry.metrics(), /mme_gateway_cold_queue_wait_seconds_count\{endpoint="ep",result="abandoned"\} 1/);
  });

  it('answers MODEL_NOT_READY after loadWaitMs while the model loads, and a retry is served by the same load', async () => {
    const { transport, calls } = scriptedTransport(loadingModels(300));
    const { invoker } = build(transport);
    const startedAt = performance.now();
    await assert.rejects(invoker.invoke(request(model('m'), { loadWaitMs: 80 }), newTrace()), (e: unknown) => {
      assert.ok(isCode('MODEL_NOT_READY')(e));
      assert.equal((e as GatewayError).extensions['deadline'], 'ready-wait');
      return true;
    });
    const elapsed = performance.now() - startedAt;
    // The probe gives up as soon as its next backoff would overshoot the wait, so at most 80 ms.
    assert.ok(elapsed < 250, `answered within the 80 ms ready wait, not the 5 s budget (${elapsed} ms)`);
    const retry = newTrace();
    await invoker.invoke(request(model('m'), { loadWaitMs: 1_000 }), retry);
    assert.equal(retry.start, 'cold');
    assert.ok(calls.length >= 2);
  });
});
