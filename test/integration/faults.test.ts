/**
 * Thousands of requests through the real gateway while the embedded local MME injects every
 * fault it knows (each SageMaker error type, resets, hangs, latency): every request gets
 * exactly one answer (a success or a documented problem+json), none outlives its deadline,
 * breakers open, and once the faults stop the gateway recovers to 100 % success.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorCatalog } from '../../src/errors.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const REQUESTS = 2_000;
const CONCURRENCY = 40;
const DEADLINE_MS = 2_000;
const MODELS = ['churn', 'iris', 'house-prices'];
const BODIES: Record<string, string> = { churn: '12,70.5,3,1,0,1', iris: '5.1,3.5,1.4,0.2', 'house-prices': '1200,3,2,15,1' };
const RESET_TIMEOUT_MS = 1_000;

const faultPlan = {
  seed: 7,
  errorRates: {
    ValidationError: 0.02,
    ModelError: 0.05,
    ModelNotReadyException: 0.05,
    InternalFailure: 0.08,
    ServiceUnavailable: 0.08,
    InternalDependencyException: 0.04,
  },
  resetRate: 0.04,
  hangRate: 0.01,
  latencyMs: 1,
  latencyJitterMs: 15,
  models: { 'iris.tar.gz': { errorRates: { ModelError: 0.9 }, modelErrorStatus: 500 } },
};

describe('every fault at once', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: '20',
      LOCAL_MME_READY_WAIT_MS: '50',
      // Short enough that hangs end well inside the deadline, long enough that a busy CI
      // machine does not turn slow answers into timeouts.
      UPSTREAM_SOCKET_TIMEOUT_MS: '800',
      NOT_READY_RETRY_BASE_MS: '20',
      NOT_READY_RETRY_MAX_MS: '100',
      BREAKER_VOLUME_THRESHOLD: '10',
      BREAKER_ERROR_THRESHOLD_PERCENT: '40',
      BREAKER_ROLLING_WINDOW_MS: '2000',
      BREAKER_RESET_TIMEOUT_MS: String(RESET_TIMEOUT_MS),
    });
    for (const model of MODELS) await predict(model); // loads out of the way before the faults
    const put = await fetch(`${gateway.localMmeUrl}/_local/faults`, { method: 'PUT', body: JSON.stringify(faultPlan) });
    assert.equal(put.status, 200);
  });
  after(async () => {
    await gateway?.stop();
  });

  async function predict(model: string) {
    const startedAt = Date.now();
    const response = await fetch(`${gateway.url}/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-request-timeout-ms': String(DEADLINE_MS) },
      body: BODIES[model],
    });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', text, elapsedMs: Date.now() - startedAt };
  }

  it('answers every request exactly once with a success or a documented error, within its deadline', async () => {
    const outcomes = new Map<string, number>();
    let next = 0;
    let slowest = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const model = MODELS[next++ % MODELS.length]!;
          const result = await predict(model);
          slowest = Math.max(slowest, result.elapsedMs);
          let key = '200';
          if (result.status !== 200) {
            assert.match(result.type, /^application\/problem\+json/, result.text);
            const problem = JSON.parse(result.text) as { code: keyof typeof errorCatalog; status: number };
            assert.ok(problem.code in errorCatalog, `documented code: ${problem.code}`);
            assert.equal(problem.status, result.status);
            key = `${result.status} ${problem.code}`;
          }
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      }),
    );
    const answered = [...outcomes.values()].reduce((sum, count) => sum + count, 0);
    assert.equal(answered, REQUESTS, 'one answer per request');
    assert.ok(slowest < DEADLINE_MS + 1_000, `slowest answer ${slowest} ms`);
    assert.ok((outcomes.get('200') ?? 0) > REQUESTS / 3, `most requests still succeed: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok(outcomes.has('503 CIRCUIT_OPEN'), 'the broken model trips its breaker');

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const counted = metricValue(metrics, 'mme_gateway_invocation_duration_seconds_count');
    assert.equal(counted, REQUESTS + MODELS.length, 'every request is measured once');
    assert.ok(metricValue(metrics, 'mme_gateway_breaker_transitions_total', { to: 'open' }) >= 1);
    console.log('fault outcomes', JSON.stringify(Object.fromEntries(outcomes)), `slowest ${slowest} ms`);
  });

  it('recovers to 100 % success when the faults stop', async () => {
    await fetch(`${gateway.localMmeUrl}/_local/faults`, { method: 'PUT', body: '{}' });
    await new Promise((resolve) => setTimeout(resolve, RESET_TIMEOUT_MS + 200));
    // The half-open probes close the breakers (a probe may still meet the tail of the faults).
    const until = Date.now() + 10_000;
    for (const model of MODELS) {
      while ((await predict(model)).status !== 200) {
        assert.ok(Date.now() < until, `${model} did not recover`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const results: Array<Awaited<ReturnType<typeof predict>>> = [];
    for (let batch = 0; batch < 15; batch++) {
      results.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => predict(MODELS[i % MODELS.length]!)))));
    }
    const failures = results.filter((result) => result.status !== 200);
    assert.deepEqual(failures.map((f) => f.text), [], 'after recovery every request succeeds');
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'mme_gateway_breakers_open'), 0);
  });
});
