/**
 * Loading models ahead of traffic on the real gateway: MODEL_PRELOAD at start-up (measured like
 * any invocation) and POST /models/{model}/warm (the catalog's warm-up payload, or the default probe whose 4xx from
 * the container still proves the model loaded); the first real call after either is warm.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { assertMatchesSpec } from '../helpers/openapi-contract.js';

describe('warm-up and preload', () => {
  let gateway: RunningGateway;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmup-'));
    const catalog = join(dir, 'catalog.yaml');
    writeFileSync(catalog, 'models:\n  churn:\n    warmup: { contentType: text/csv, body: "12,70.5,3,1,0,1" }\n');
    gateway = await startGateway({ MODEL_CATALOG: catalog, MODEL_PRELOAD: 'iris', LOCAL_MME_LOAD_DELAY_MS: '300' });
  });
  after(async () => {
    await gateway?.stop();
  });

  const predict = (model: string, body: string) =>
    fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
  const warm = async (model: string) => {
    const response = await fetch(`${gateway.url}/models/${model}/warm`, { method: 'POST' });
    const text = await response.text();
    assertMatchesSpec('post', '/models/{model}/warm', { status: response.status, headers: response.headers, text });
    return { response, body: JSON.parse(text) as Record<string, unknown> };
  };

  it('preloads MODEL_PRELOAD at start-up', async () => {
    await gateway.waitForLog((line) => line['message'] === 'preload: warm' && line['model'] === 'iris');
    // Measured like any invocation: its duration and its payload, once.
    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(metricValue(exposition, 'mme_gateway_invocation_duration_seconds_count', { model: 'iris' }), 1);
    assert.equal(metricValue(exposition, 'mme_gateway_payload_bytes_count', { direction: 'request' }), 1);
    const report = (await (await fetch(`${gateway.url}/models/iris`)).json()) as Record<string, unknown>;
    assert.equal(report['state'], 'warm');
    assert.equal((await predict('iris', '5.1,3.5,1.4,0.2')).headers.get('x-model-start'), 'warm');
  });

  it("warms a model with the catalog's payload", async () => {
    const { response, body } = await warm('churn');
    assert.equal(response.status, 200);
    assert.equal(body['containerAnswer'], 'success');
    assert.equal(body['state'], 'warm');
    assert.ok((body['warmedInMs'] as number) >= 300, 'the load happened during warm-up');
    assert.equal((await predict('churn', '12,70.5,3,1,0,1')).headers.get('x-model-start'), 'warm');
  });

  it("counts the container's 4xx to the default probe as loaded", async () => {
    const { response, body } = await warm('house-prices');
    assert.equal(response.status, 200);
    assert.equal(body['containerAnswer'], 'model_error_400');
    assert.equal(body['state'], 'warm');
    const first = await predict('house-prices', '1200,3,2,15,1');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-model-start'), 'warm');
  });

  it('lists every model with its state', async () => {
    const list = (await (await fetch(`${gateway.url}/models`)).json()) as { models: Array<{ name: string; state: string }> };
    const states = Object.fromEntries(list.models.map((m) => [m.name, m.state]));
    assert.deepEqual({ churn: states['churn'], iris: states['iris'], 'house-prices': states['house-prices'] }, { churn: 'warm', iris: 'warm', 'house-prices': 'warm' });
  });
});
