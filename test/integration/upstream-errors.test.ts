/**
 * Every kind of upstream failure, injected by the local MME one at a time, reaches the caller
 * of the real gateway as the documented problem+json status and code (README "Errors").
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';
import { assertMatchesSpec } from '../helpers/openapi-contract.js';

describe('upstream errors as the caller sees them', () => {
  let gateway: RunningGateway;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upstream-errors-'));
    const catalog = join(dir, 'catalog.yaml');
    // The budget must outlast three 1 s attempts, or the hang case would end as DEADLINE_EXCEEDED.
    writeFileSync(catalog, 'models:\n  flaky:\n    targetModel: churn.tar.gz\n    coldStartBudgetSeconds: 5\n');
    gateway = await startGateway({
      MODEL_CATALOG: catalog,
      LOCAL_MME_LOAD_DELAY_MS: '0',
      // Long enough that a busy machine answers every injected error before it (at 300 ms, a
      // slow ModelNotReadyException sometimes timed out and ended as UPSTREAM_TIMEOUT).
      UPSTREAM_SOCKET_TIMEOUT_MS: '1000',
      NOT_READY_RETRY_BASE_MS: '20',
      NOT_READY_RETRY_MAX_MS: '100',
      // One injected failure after another must not open the endpoint's breaker mid-table.
      BREAKER_VOLUME_THRESHOLD: '100000',
    });
    const warm = await fetch(`${gateway.url}/models/flaky/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
    assert.equal(warm.status, 200);
  });
  after(async () => {
    await gateway?.stop();
  });

  const cases: Array<[string, object, number, string]> = [
    ['ValidationError', { errorRates: { ValidationError: 1 } }, 400, 'UPSTREAM_VALIDATION_ERROR'],
    ['ModelError (container 5xx)', { errorRates: { ModelError: 1 }, modelErrorStatus: 500 }, 502, 'MODEL_ERROR'],
    ['ModelError (container 4xx)', { errorRates: { ModelError: 1 }, modelErrorStatus: 422 }, 422, 'MODEL_ERROR'],
    ['InternalFailure', { errorRates: { InternalFailure: 1 } }, 502, 'UPSTREAM_ERROR'],
    ['InternalDependencyException', { errorRates: { InternalDependencyException: 1 } }, 502, 'UPSTREAM_ERROR'],
    ['ServiceUnavailable', { errorRates: { ServiceUnavailable: 1 } }, 503, 'UPSTREAM_UNAVAILABLE'],
    ['a reset connection', { resetRate: 1 }, 502, 'UPSTREAM_UNREACHABLE'],
    // On a model known warm; silence from a cold one may be SageMaker loading it (503 MODEL_NOT_READY).
    ['no answer', { hangRate: 1 }, 504, 'UPSTREAM_TIMEOUT'],
    ['ModelNotReadyException past the budget', { errorRates: { ModelNotReadyException: 1 } }, 503, 'MODEL_NOT_READY'],
  ];

  for (const [what, fault, status, code] of cases) {
    it(`${what} → ${status} ${code}`, async () => {
      const put = await fetch(`${gateway.localMmeUrl}/_local/faults`, { method: 'PUT', body: JSON.stringify({ models: { 'churn.tar.gz': fault } }) });
      assert.equal(put.status, 200);
      const response = await fetch(`${gateway.url}/models/flaky/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
      const text = await response.text();
      assert.equal(response.status, status, text);
      const problem = JSON.parse(text) as Record<string, unknown>;
      assert.equal(problem['code'], code);
      assert.equal(problem['model'], 'flaky');
      if (status === 503) assert.ok(Number(response.headers.get('retry-after')) >= 1, 'Retry-After on 503');
      assertMatchesSpec('post', '/models/{model}/predict', { status: response.status, headers: response.headers, text });
    });
  }

  it('recovers once the faults stop', async () => {
    await fetch(`${gateway.localMmeUrl}/_local/faults`, { method: 'PUT', body: '{}' });
    const response = await fetch(`${gateway.url}/models/flaky/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
    assert.equal(response.status, 200, await response.text());
  });
});
