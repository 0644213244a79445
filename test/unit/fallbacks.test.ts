/**
 * The fallback step alone, around a fake per-target invocation: priority order, open breakers
 * passed over, fail-over only on endpoint-side failures, never on the caller's errors, cold
 * targets passed over for a warm one when preferWarm or the caller's deadline says so, and
 * never two targets at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResolvedModel, ModelCatalog, catalogFileSchema } from '../../src/catalog.js';
import { gatewayError, type ErrorCode, type GatewayError } from '../../src/errors.js';
import { type FallbackReason, withFallbacks } from '../../src/invoke/fallbacks.js';
import { type InvocationRequest, type InvocationTrace, newTrace } from '../../src/invoke/invoker.js';

function modelWith(preferWarm = false): ResolvedModel {
  const catalog = new ModelCatalog(
    catalogFileSchema.parse({
      policy: 'catalog-only',
      models: {
        fraud: {
          preferWarm,
          targets: [
            { endpoint: 'mme-a', targetModel: 'fraud.tar.gz' },
            { name: 'dr', endpoint: 'mme-b', region: 'eu-west-1', targetModel: 'fraud.tar.gz' },
            { endpoint: 'ic-endpoint', inferenceComponent: 'fraud-ic' },
          ],
        },
      },
    }),
    { defaultEndpoint: undefined, defaultColdStartBudgetMs: 360_000, defaultComponentBudgetMs: 600_000, defaultColdEvidence: { baselineFactor: 5, baselineFloorMs: 1_000, firstCallMs: 1_000 } },
  );
  return catalog.resolve('fraud');
}

function harness(options: { preferWarm?: boolean; warm?: string[]; open?: string[]; failures?: Record<string, ErrorCode>; coldMs?: number } = {}) {
  const calls: string[] = [];
  const fallbacks: Array<[string, FallbackReason]> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const step = withFallbacks({
    isWarm: (target) => (options.warm ?? []).includes(target.address.endpointName),
    isOpen: (target) => (options.open ?? []).includes(target.address.endpointName),
    expectedColdStartMs: () => options.coldMs ?? 60_000,
    onFallback: (_model, from, reason) => fallbacks.push([from.label, reason]),
  });
  const invoke = step(async (request) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    calls.push(request.model.address.endpointName);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    const code = options.failures?.[request.model.address.endpointName];
    if (code) throw gatewayError(code, `injected ${code}`, code === 'MODEL_ERROR' ? { status: 400 } : {});
    return { body: new Uint8Array(), contentType: 'text/csv', customAttributes: undefined, invokedVariant: 'AllTraffic', upstreamRequestId: request.model.label };
  });
  const run = async (callerTimeoutMs?: number) => {
    const trace: InvocationTrace = newTrace();
    const request = { model: modelWith(options.preferWarm), body: Buffer.from('1'), contentType: 'text/csv', callerTimeoutMs, receivedAt: 0 } as unknown as InvocationRequest;
    try {
      await invoke(request, trace);
      return { trace, error: undefined };
    } catch (error) {
      return { trace, error: error as GatewayError };
    }
  };
  return { run, calls, fallbacks, maxInFlight: () => maxInFlight };
}

describe('fallbacks', () => {
  it('serves from the primary when it is healthy', async () => {
    const h = harness();
    const { trace, error } = await h.run();
    assert.equal(error, undefined);
    assert.equal(trace.target, 'primary');
    assert.deepEqual(h.calls, ['mme-a']);
  });

  for (const [code, reason] of [
    ['UPSTREAM_UNAVAILABLE', 'unavailable'],
    ['UPSTREAM_THROTTLED', 'throttled'],
    ['UPSTREAM_UNREACHABLE', 'unreachable'],
    ['CIRCUIT_OPEN', 'circuit_open'],
  ] as const) {
    it(`fails over on ${code}, one target at a time`, async () => {
      const h = harness({ failures: { 'mme-a': code } });
      const { trace, error } = await h.run();
      assert.equal(error, undefined);
      assert.equal(trace.target, 'dr');
      assert.deepEqual(h.calls, ['mme-a', 'mme-b']);
      assert.deepEqual(h.fallbacks, [['primary', reason]]);
      assert.equal(h.maxInFlight(), 1);
    });
  }

  for (const code of ['MODEL_ERROR', 'UPSTREAM_VALIDATION_ERROR', 'MODEL_NOT_READY', 'DEADLINE_EXCEEDED', 'QUEUE_FULL'] as const) {
    it(`never fails over on ${code}`, async () => {
      const h = harness({ failures: { 'mme-a': code } });
      const { error } = await h.run();
      assert.equal(error?.code, code);
      assert.deepEqual(h.calls, ['mme-a']);
      assert.deepEqual(h.fallbacks, []);
    });
  }

  it('passes over a target with an open breaker without calling it', async () => {
    const h = harness({ open: ['mme-a'] });
    const { trace } = await h.run();
    assert.equal(trace.target, 'dr');
    assert.deepEqual(h.calls, ['mme-b']);
    assert.deepEqual(h.fallbacks, [['primary', 'circuit_open']]);
  });

  it('answers with the last target whatever it says', async () => {
    const h = harness({ failures: { 'mme-a': 'UPSTREAM_UNAVAILABLE', 'mme-b': 'UPSTREAM_UNAVAILABLE', 'ic-endpoint': 'UPSTREAM_UNAVAILABLE' } });
    const { trace, error } = await h.run();
    assert.equal(error?.code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(trace.target, 'fallback-2');
    assert.deepEqual(h.calls, ['mme-a', 'mme-b', 'ic-endpoint']);
  });

  it('prefers a warm target over a cold primary only with preferWarm', async () => {
    const without = harness({ warm: ['mme-b'] });
    assert.equal((await without.run()).trace.target, 'primary');
    const withPreference = harness({ warm: ['mme-b'], preferWarm: true });
    assert.equal((await withPreference.run()).trace.target, 'dr');
    assert.deepEqual(withPreference.fallbacks, [['primary', 'cold']]);
    const bothWarm = harness({ warm: ['mme-a', 'mme-b'], preferWarm: true });
    assert.equal((await bothWarm.run()).trace.target, 'primary');
  });

  it('passes over a cold target whose cold start cannot fit in the caller deadline', async () => {
    const fits = harness({ warm: ['mme-b'], coldMs: 5_000 });
    assert.equal((await fits.run(10_000)).trace.target, 'primary');
    const tooLong = harness({ warm: ['mme-b'], coldMs: 5_000 });
    assert.equal((await tooLong.run(2_000)).trace.target, 'dr');
    const noWarmAlternative = harness({ coldMs: 5_000 });
    assert.equal((await noWarmAlternative.run(2_000)).trace.target, 'primary', 'nowhere warm: the primary still gets its chance');
  });
});
