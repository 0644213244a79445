/**
 * Acceptance: the real gateway process with its embedded local MME, over real HTTP, through
 * the real AWS SDK inside the gateway. Covers the predict contract of the README.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { assertMatchesSpec } from '../helpers/openapi-contract.js';

const CHURN_ROW = '12,70.5,3,1,0,1';

async function predict(gateway: RunningGateway, model: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}/models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', ...headers },
    body,
  });
  const text = await response.text();
  // Every answer the real gateway gives must be one openapi.yaml documents.
  assertMatchesSpec('post', '/models/{model}/predict', { status: response.status, headers: response.headers, text });
  return { response, text };
}

function assertProblem(response: Response, text: string, status: number, code: string) {
  assert.equal(response.status, status, text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(text) as Record<string, unknown>;
  assert.equal(problem['code'], code);
  assert.equal(problem['status'], status);
  assert.equal(typeof problem['detail'], 'string');
  assert.equal(problem['requestId'], response.headers.get('x-request-id'));
  assert.ok(!/\bat \S+ \(/.test(text), 'no stack trace');
  return problem;
}

describe('predict through the gateway and the local MME', () => {
  let gateway: RunningGateway;
  let catalogGateway: RunningGateway;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
    const catalogPath = join(dir, 'catalog.yaml');
    writeFileSync(catalogPath, 'policy: catalog-only\nmodels:\n  attrition:\n    targetModel: churn.tar.gz\n');
    [gateway, catalogGateway] = await Promise.all([
      // A 300 ms simulated load is above a 200 ms first-call threshold, so the first call is cold by evidence.
      startGateway({ LOCAL_MME_LOAD_DELAY_MS: '300', COLD_FIRST_CALL_MS: '200' }),
      startGateway({ LOCAL_MME_LOAD_DELAY_MS: '50', MODEL_CATALOG: catalogPath }),
    ]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), catalogGateway?.stop()]);
  });

  it('answers cold on the first call and warm on the second, with the same prediction', async () => {
    const cold = await predict(gateway, 'churn', CHURN_ROW);
    assert.equal(cold.response.status, 200, cold.text);
    assert.equal(cold.response.headers.get('x-model-start'), 'cold');
    assert.equal(cold.response.headers.get('content-type'), 'text/csv', 'the model\'s content type, unchanged');
    const probability = Number(cold.text.trim());
    assert.ok(probability > 0 && probability < 1, cold.text);

    const warm = await predict(gateway, 'churn', CHURN_ROW);
    assert.equal(warm.response.status, 200);
    assert.equal(warm.response.headers.get('x-model-start'), 'warm');
    assert.equal(warm.text, cold.text);
  });

  it('keeps a valid caller request id and replaces an invalid one', async () => {
    const kept = await predict(gateway, 'churn', CHURN_ROW, { 'x-request-id': 'caller-123' });
    assert.equal(kept.response.headers.get('x-request-id'), 'caller-123');
    const replaced = await predict(gateway, 'churn', CHURN_ROW, { 'x-request-id': 'bad id with spaces' });
    assert.match(replaced.response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('answers one prediction per CSV row', async () => {
    const { response, text } = await predict(gateway, 'churn', `${CHURN_ROW}\n60,20.0,0,0,1,0\n`);
    assert.equal(response.status, 200);
    assert.equal(text.trim().split('\n').length, 2);
  });

  it('refuses bad names, bodies and headers with problem+json before calling upstream', async () => {
    const before = metricValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'mme_gateway_upstream_requests_total');
    const cases: Array<[string, string | Buffer, Record<string, string>, number, string]> = [
      ['a..b', CHURN_ROW, {}, 400, 'INVALID_MODEL_NAME'],
      ['a%2Fb', CHURN_ROW, {}, 400, 'INVALID_MODEL_NAME'],
      ['caf%C3%A9', CHURN_ROW, {}, 400, 'INVALID_MODEL_NAME'],
      ['x'.repeat(129), CHURN_ROW, {}, 400, 'INVALID_MODEL_NAME'],
      ['churn', '', {}, 400, 'EMPTY_BODY'],
      ['churn', Buffer.alloc(6 * 1024 * 1024 + 1, 0x31), {}, 413, 'PAYLOAD_TOO_LARGE'],
      ['churn', CHURN_ROW, { 'content-type': '' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['churn', CHURN_ROW, { 'content-type': 'not a type' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['churn', CHURN_ROW, { 'x-request-timeout-ms': 'soon' }, 400, 'INVALID_HEADER'],
      ['churn', CHURN_ROW, { 'x-request-timeout-ms': '0' }, 400, 'INVALID_HEADER'],
      ['churn', CHURN_ROW, { 'x-amzn-sagemaker-custom-attributes': 'x'.repeat(1025) }, 400, 'INVALID_HEADER'],
      ['churn', CHURN_ROW, { 'x-amzn-sagemaker-inference-id': 'y'.repeat(65) }, 400, 'INVALID_HEADER'],
    ];
    for (const [model, body, headers, status, code] of cases) {
      const { response, text } = await predict(gateway, model, body, headers);
      assertProblem(response, text, status, code);
    }
    const afterCount = metricValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'mme_gateway_upstream_requests_total');
    assert.equal(afterCount, before, 'nothing was sent upstream');
  });

  it('maps a missing model archive to a clear error and an unknown route to 404', async () => {
    const missing = await predict(gateway, 'no-such-model', CHURN_ROW);
    assert.ok([400, 404].includes(missing.response.status), missing.text);
    assert.match(missing.response.headers.get('content-type') ?? '', /problem\+json/);
    const route = await fetch(`${gateway.url}/nope`);
    assertProblem(route, await route.text(), 404, 'NOT_FOUND');
  });

  it('passes the container error through for input the model cannot read', async () => {
    const { response, text } = await predict(gateway, 'churn', 'not,numbers,at,all,x,y');
    const problem = assertProblem(response, text, 400, 'MODEL_ERROR');
    assert.equal(problem['originalStatus'], 400);
    assert.equal(problem['model'], 'churn');
  });

  it('serves catalog names and 404s anything else under catalog-only', async () => {
    const ok = await predict(catalogGateway, 'attrition', CHURN_ROW);
    assert.equal(ok.response.status, 200, ok.text);
    const unknown = await predict(catalogGateway, 'churn', CHURN_ROW);
    assertProblem(unknown.response, unknown.text, 404, 'MODEL_NOT_FOUND');
  });

  it('reports health, readiness and model state', async () => {
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
    const state = (await (await fetch(`${gateway.url}/models/churn`)).json()) as Record<string, unknown>;
    assert.equal(state['state'], 'warm');
    assert.equal(state['targetModel'], 'churn.tar.gz');
    assert.deepEqual(state['breakers'], { endpoint: 'closed', model: 'closed' });
    const list = (await (await fetch(`${gateway.url}/models`)).json()) as { models: Array<{ name: string }> };
    assert.ok(list.models.some((m) => m.name === 'churn'));
  });

  it('writes one JSON access line per request without the body', async () => {
    await predict(gateway, 'churn', CHURN_ROW, { 'x-request-id': 'log-check-1' });
    await gateway.waitForLog((line) => line['requestId'] === 'log-check-1');
    const lines = gateway.logs.filter((line) => line['requestId'] === 'log-check-1');
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line['model'], 'churn');
    assert.equal(line['status'], 200);
    assert.equal(line['start'], 'warm');
    assert.equal(line['endpoint'], 'local-mme');
    assert.ok(!JSON.stringify(line).includes(CHURN_ROW));
  });
});
