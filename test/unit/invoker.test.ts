/**
 * Unit tests of the invoker's retry, single-flight, cold-evidence and breaker logic with a
 * scripted transport in place of the SDK and a virtual clock in place of time, so simulated
 * loads of seconds run in milliseconds (the acceptance tests run the same paths through the
 * real SDK against the local MME).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError, ModelNotReadyException, ServiceUnavailable, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import type { GatewayError } from '../../src/errors.js';
import { metricValue } from '../helpers/gateway-process.js';
import { build, call, evidence, isCode, loadingModels, meta, model, scriptedTransport, virtualClock } from '../helpers/invoker-harness.js';

const modelError = (status: number) => new ModelError({ ...meta, message: 'boom', OriginalStatusCode: status, OriginalMessage: 'container failed' });

/** Waits for a condition that a real timer (opossum's reset timeout) will make true. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('invoker', () => {
  it('turns a cold burst of 20 into one probe plus one call per waiter, all labelled cold', async () => {
    const clock = virtualClock();
    const { transport, calls } = scriptedTransport(loadingModels(clock, 150));
    const { invoker, metrics } = build(transport, clock);
    const burst = Array.from({ length: 20 }, () => call(invoker, clock, model('churn')));
    const results = await Promise.all(burst.map((b) => b.promise));
    assert.equal(results.length, 20);
    const probeRetries = calls.length - 20;
    assert.ok(probeRetries >= 1 && probeRetries <= 15, `upstream calls ${calls.length}`);
    assert.ok(burst.every((b) => b.trace.modelStart === 'cold'));
    assert.equal(burst.filter((b) => b.trace.coldReason === 'not_ready').length, 1, 'the probe met ModelNotReady');
    assert.equal(burst.filter((b) => b.trace.coldReason === 'waited').length, 19, 'the others waited on its load');
    const warm = call(invoker, clock, model('churn'));
    await warm.promise;
    assert.equal(warm.trace.modelStart, 'warm');
    assert.equal(warm.trace.attempts, 1);
    const exposition = await metrics.registry.metrics();
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total', { model: 'churn', reason: 'waited' }), 19);
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total', { model: 'churn', reason: 'not_ready' }), 1);
  });

  it("answers MODEL_NOT_READY when the caller's deadline passes during the load", async () => {
    const clock = virtualClock();
    const { transport } = scriptedTransport(loadingModels(clock, 2_000));
    const { invoker } = build(transport, clock);
    const prober = call(invoker, clock, model('slow'), 120);
    const waiter = call(invoker, clock, model('slow'), 120);
    // Both handlers are attached before either promise can settle.
    await Promise.all([
      assert.rejects(prober.promise, (e: unknown) => isCode('MODEL_NOT_READY')(e) && (e as GatewayError).extensions['deadline'] === 'caller'),
      assert.rejects(waiter.promise, isCode('MODEL_NOT_READY')),
    ]);
    assert.ok(clock.now() < 400, `gave up near the 120 ms deadline (virtual ${clock.now()} ms)`);
  });

  it('answers MODEL_NOT_READY with Retry-After when the cold-start budget runs out', async () => {
    const clock = virtualClock();
    const { transport } = scriptedTransport(loadingModels(clock, 2_000));
    const { invoker } = build(transport, clock);
    await assert.rejects(call(invoker, clock, model('huge', 150)).promise, (e: unknown) => {
      assert.ok(isCode('MODEL_NOT_READY')(e));
      assert.ok(((e as GatewayError).retryAfterSeconds ?? 0) >= 1);
      assert.equal((e as GatewayError).extensions['deadline'], 'cold-start-budget');
      return true;
    });
  });

  it('retries a transient error once and succeeds', async () => {
    const clock = virtualClock();
    let failures = 1;
    const { transport, calls } = scriptedTransport(() => {
      if (failures-- > 0) throw new ServiceUnavailable({ ...meta, message: 'blip' });
    });
    const { invoker } = build(transport, clock);
    const first = call(invoker, clock, model('flaky'));
    await first.promise;
    assert.equal(calls.length, 2);
    assert.equal(first.trace.attempts, 2);
  });

  it('does not retry a ModelError; opens the model breaker and leaves other models alone', async () => {
    const clock = virtualClock();
    const { transport, calls } = scriptedTransport((params) => {
      if (params.targetModel === 'broken.tar.gz') throw modelError(500);
    });
    const { invoker, breakers } = build(transport, clock);
    for (let i = 0; i < 5; i++) await assert.rejects(call(invoker, clock, model('broken')).promise, isCode('MODEL_ERROR'));
    assert.equal(calls.length, 5, 'ModelError is not retried');
    await assert.rejects(call(invoker, clock, model('broken')).promise, (e: unknown) => isCode('CIRCUIT_OPEN')(e) && (e as GatewayError).retryAfterSeconds === 1);
    assert.equal(calls.length, 5, 'an open breaker sends nothing upstream');
    await call(invoker, clock, model('healthy')).promise;
    assert.equal(breakers.states('ep', 'ep\nhealthy.tar.gz').endpoint, 'closed');
  });

  it('opens after 5 consecutive failures whatever the rate; a loading answer neither counts nor resets', async () => {
    const clock = virtualClock();
    let answer: 'fail' | 'loading' | 'ok' = 'fail';
    const { transport } = scriptedTransport(() => {
      if (answer === 'fail') throw modelError(500);
      if (answer === 'loading') throw new ModelNotReadyException({ ...meta, message: 'loading' });
    });
    // A rolling window that can never trip: only the consecutive trigger can open the breaker.
    const { invoker, breakers, states } = build(transport, clock, { volumeThreshold: 100_000, rollingWindowMs: 100 });
    const m = model('sporadic', 100);
    const key = 'ep\nsporadic.tar.gz';
    for (let i = 0; i < 4; i++) {
      await assert.rejects(call(invoker, clock, m).promise, isCode('MODEL_ERROR'));
      clock.advance(10_000); // one call every ten seconds
    }
    answer = 'loading';
    await assert.rejects(call(invoker, clock, m).promise, isCode('MODEL_NOT_READY'));
    assert.equal(breakers.states('ep', key).model, 'closed');
    assert.equal(states.get(m)?.consecutiveFailures, 4);
    answer = 'fail';
    await assert.rejects(call(invoker, clock, m).promise, isCode('MODEL_ERROR'));
    assert.equal(breakers.states('ep', key).model, 'open', 'the fifth failure in a row opens it');
    await assert.rejects(call(invoker, clock, m).promise, isCode('CIRCUIT_OPEN'));
    breakers.shutdown();
  });

  it('closes the breaker again after the model recovers, and a success resets the run', async () => {
    const clock = virtualClock();
    let broken = true;
    const { transport } = scriptedTransport(() => {
      if (broken) throw modelError(503);
    });
    // Only the consecutive trigger: the error rate over the window would reopen it at once.
    const { invoker, breakers, states } = build(transport, clock, { resetTimeoutMs: 20, volumeThreshold: 100_000 });
    const key = 'ep\nm.tar.gz';
    for (let i = 0; i < 5; i++) await assert.rejects(call(invoker, clock, model('m')).promise, isCode('MODEL_ERROR'));
    assert.equal(breakers.states('ep', key).model, 'open');
    assert.equal(states.get(model('m'))?.state, 'failing');
    broken = false;
    await until(() => breakers.states('ep', key).model === 'half_open');
    await call(invoker, clock, model('m')).promise;
    assert.equal(breakers.states('ep', key).model, 'closed');
    assert.equal(states.get(model('m'))?.state, 'warm');
    assert.equal(states.get(model('m'))?.consecutiveFailures, 0);
    broken = true;
    for (let i = 0; i < 4; i++) await assert.rejects(call(invoker, clock, model('m')).promise, isCode('MODEL_ERROR'));
    assert.equal(breakers.states('ep', key).model, 'closed', 'four failures after a success are not five in a row');
    breakers.shutdown();
  });

  it('never counts a client error (ModelError 4xx) against the breaker', async () => {
    const clock = virtualClock();
    const { transport } = scriptedTransport(() => {
      throw new ModelError({ ...meta, message: 'bad csv', OriginalStatusCode: 400 });
    });
    const { invoker, breakers, states } = build(transport, clock);
    for (let i = 0; i < 10; i++) {
      await assert.rejects(call(invoker, clock, model('picky')).promise, (e: unknown) => isCode('MODEL_ERROR')(e) && (e as GatewayError).status === 400);
    }
    assert.equal(breakers.states('ep', 'ep\npicky.tar.gz').model, 'closed');
    assert.equal(states.get(model('picky'))?.state, 'warm', 'the container answered, so the model is loaded');
  });

  it('a herd on a model whose load fails shares the one load attempt and fails together', async () => {
    const clock = virtualClock();
    let loadFailedAt: number | undefined;
    const { transport, calls } = scriptedTransport(() => {
      loadFailedAt ??= clock.now() + 3_000;
      if (clock.now() < loadFailedAt) throw new ModelNotReadyException({ ...meta, message: 'loading' });
      throw modelError(500);
    });
    const { invoker, states } = build(transport, clock);
    const herd = Array.from({ length: 10 }, () => call(invoker, clock, model('corrupt', 60_000)));
    const settled = await Promise.allSettled(herd.map((h) => h.promise));
    assert.ok(settled.every((s) => s.status === 'rejected' && isCode('MODEL_ERROR')(s.reason)), 'every caller gets the failure');
    assert.ok(clock.now() < 3_000 + 40 * 2, `all failed within one load attempt plus a backoff (virtual ${clock.now()} ms)`);
    const probeAttempts = herd[0]!.trace.attempts;
    assert.equal(calls.length, probeAttempts, 'the waiters sent nothing upstream');
    assert.ok(herd.every((h) => h.trace.modelStart === 'cold'));
    const status = states.get(model('corrupt'))!;
    assert.equal(status.state, 'failing');
    assert.equal(status.lastFailure?.error.code, 'MODEL_ERROR');
  });

  it('labels a first call by what happened: fast is warm, slow is a slow first call', async () => {
    const clock = virtualClock();
    const { transport } = scriptedTransport((params) => {
      clock.advance(params.targetModel === 'loaded-upstream.tar.gz' ? 3 : 1_500);
    });
    const { invoker, states } = build(transport, clock);
    const fast = call(invoker, clock, model('loaded-upstream'));
    await fast.promise;
    assert.equal(fast.trace.modelStart, 'warm', 'first sight is not evidence');
    assert.equal(states.get(model('loaded-upstream'))?.warmBaselineMs, 3);
    const slow = call(invoker, clock, model('loading-upstream'));
    await slow.promise;
    assert.deepEqual([slow.trace.modelStart, slow.trace.coldReason], ['cold', 'slow_first_call']);
    assert.equal(states.get(model('loading-upstream'))?.warmBaselineMs, undefined, 'a cold call does not teach the baseline');
    const custom = { ...model('patient'), coldEvidence: { ...evidence, firstCallMs: 5_000 } };
    const slowButFine = call(invoker, clock, custom);
    await slowButFine.promise;
    assert.equal(slowButFine.trace.modelStart, 'warm', 'a per-model threshold above the upstream time');
  });

  it('infers an unannounced reload from the warm baseline; an ordinary slow call stays warm', async () => {
    const clock = virtualClock();
    let upstreamMs = 3;
    const { transport } = scriptedTransport(() => clock.advance(upstreamMs));
    const { invoker, states } = build(transport, clock);
    const m = model('evicted');
    for (let i = 0; i < 5; i++) await call(invoker, clock, m).promise;
    upstreamMs = 600; // 200 × the baseline, but under baseline + 1 s: an ordinary slow inference
    const slowInference = call(invoker, clock, m);
    await slowInference.promise;
    assert.equal(slowInference.trace.modelStart, 'warm');
    upstreamMs = 2_000; // the upstream evicted the model and loaded it again within its 60 s
    const reload = call(invoker, clock, m);
    await reload.promise;
    assert.deepEqual([reload.trace.modelStart, reload.trace.coldReason], ['cold', 'inferred_reload']);
    const status = states.get(m)!;
    assert.equal(status.state, 'warm', 'after a reload the model is warm again');
    assert.equal(status.lastColdReason, 'inferred_reload');
    upstreamMs = 3;
    const after = call(invoker, clock, m);
    await after.promise;
    assert.equal(after.trace.modelStart, 'warm');
  });

  it('labels calls sent during an unannounced reload waited, whatever order their answers come in', async () => {
    const clock = virtualClock();
    /** Each call during the reload waits on its own release, so the test picks the answer order. */
    const releases: Array<() => void> = [];
    let reloading = false;
    const { transport } = scriptedTransport(async () => {
      if (reloading) await new Promise<void>((resolve) => releases.push(resolve));
    });
    const { invoker } = build(transport, clock);
    const m = model('busy');
    for (let i = 0; i < 3; i++) await call(invoker, clock, m).promise; // a warm baseline of ~0 ms
    reloading = true;
    const first = call(invoker, clock, m); // meets the reload upstream
    clock.advance(1_500);
    const late = call(invoker, clock, m); // sent 1.5 s into the reload: its own time looks short
    await until(() => releases.length === 2);
    clock.advance(600);
    reloading = false;
    // The late call is answered first: the older call, still unanswered after 2.1 s, is the evidence.
    releases[1]!();
    await late.promise;
    assert.deepEqual([late.trace.modelStart, late.trace.coldReason], ['cold', 'waited']);
    releases[0]!();
    await first.promise;
    assert.deepEqual([first.trace.modelStart, first.trace.coldReason], ['cold', 'inferred_reload']);
    const next = call(invoker, clock, m);
    await next.promise;
    assert.equal(next.trace.modelStart, 'warm');
  });

  it('answers MODEL_NOT_FOUND for a missing archive, without touching the breaker', async () => {
    const clock = virtualClock();
    const { transport } = scriptedTransport(() => {
      throw new ValidationError({ ...meta, message: 'Failed to download model data(bucket: b, key: nope.tar.gz). Please ensure that there is an object located at the URL.' });
    });
    const { invoker, breakers } = build(transport, clock);
    for (let i = 0; i < 6; i++) {
      await assert.rejects(call(invoker, clock, model('nope')).promise, (e: unknown) => isCode('MODEL_NOT_FOUND')(e) && (e as GatewayError).status === 404);
    }
    assert.equal(breakers.states('ep', 'ep\nnope.tar.gz').model, 'closed');
  });

  it('keeps breakers and model state bounded across 10,000 model names', async () => {
    const clock = virtualClock();
    const { transport } = scriptedTransport(() => {});
    const { invoker, breakers, states } = build(transport, clock);
    for (let i = 0; i < 10_000; i++) await call(invoker, clock, model(`m${i}`)).promise;
    assert.equal(breakers.liveModelBreakers, 50);
    assert.equal(states.size, 100);
    breakers.shutdown();
  });
});
