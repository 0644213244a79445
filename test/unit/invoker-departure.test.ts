/**
 * Unit tests of the invoker with callers who leave: the caller's AbortSignal empties the cold
 * queue, aborts the attempt in flight and hands the probe role over (virtual clock, scripted
 * transports; the acceptance test is test/integration/caller-departure.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedModel } from '../../src/catalog.js';
import type { GatewayError } from '../../src/errors.js';
import { newTrace } from '../../src/invoke/invoker.js';
import type { Clock } from '../../src/invoke/retry-policy.js';
import type { UpstreamTransport } from '../../src/invoke/transport.js';
import { build, csvInput, isCode, loadingModels, model, scriptedTransport, virtualClock } from '../helpers/invoker-harness.js';

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
  const request = (clock: Clock, m: ResolvedModel, extra: { signal?: AbortSignal; loadWaitMs?: number } = {}) => ({
    model: m,
    input: csvInput('1'),
    callerTimeoutMs: undefined,
    receivedAt: clock.now(),
    ...extra,
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("aborts the departed probe's attempt and hands the probe role to a waiter, which is served", async () => {
    const clock = virtualClock();
    const { transport, attempts } = heldTransport();
    const { invoker, metrics } = build(transport, clock);
    const probeCaller = new AbortController();
    const probeTrace = newTrace();
    const probe = invoker.invoke(request(clock, model('m'), { signal: probeCaller.signal }), probeTrace);
    await settle();
    const waiter = invoker.invoke(request(clock, model('m'), { signal: new AbortController().signal }), newTrace());
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
    // The probe's caller left before any answer: no evidence of a load, so it is not counted cold.
    assert.match(exposition, /mme_gateway_invocation_duration_seconds_count\{model="m",endpoint="ep",start="warm",outcome="abandoned"\} 1/);
  });

  it('sends nothing for a waiter that left, and counts its wait as abandoned', async () => {
    const clock = virtualClock();
    const { transport, attempts } = heldTransport();
    const { invoker, metrics } = build(transport, clock);
    const probe = invoker.invoke(request(clock, model('m')), newTrace());
    await settle();
    const leaving = new AbortController();
    const waiter = invoker.invoke(request(clock, model('m'), { signal: leaving.signal }), newTrace());
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
    const clock = virtualClock();
    const { transport, calls } = scriptedTransport(loadingModels(clock, 300));
    const { invoker } = build(transport, clock);
    const startedAt = clock.now();
    await assert.rejects(invoker.invoke(request(clock, model('m'), { loadWaitMs: 80 }), newTrace()), (e: unknown) => {
      assert.ok(isCode('MODEL_NOT_READY')(e));
      assert.equal((e as GatewayError).extensions['deadline'], 'ready-wait');
      return true;
    });
    // The probe gives up as soon as its next backoff would overshoot the wait, so at most 80 ms.
    assert.ok(clock.now() - startedAt <= 80, `answered within the 80 ms ready wait, not the 5 s budget (virtual ${clock.now() - startedAt} ms)`);
    const retry = newTrace();
    await invoker.invoke(request(clock, model('m'), { loadWaitMs: 1_000 }), retry);
    assert.equal(retry.modelStart, 'cold');
    assert.ok(calls.length >= 2);
  });
});
