/**
 * Acceptance for cold starts, single-flight warm-up and circuit breakers: the real gateway
 * process and its embedded local MME (short load and ready-wait settings), over real HTTP.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const LOAD_DELAY_MS = 600;

describe('cold starts, single flight and breakers', () => {
  let gateway: RunningGateway;

  const predict = async (model: string, headers: Record<string, string> = {}) => {
    const startedAt = Date.now();
    const response = await fetch(`${gateway.url}/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body: CHURN_ROW,
    });
    const text = await response.text();
    return { response, text, elapsedMs: Date.now() - startedAt, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();
  const setFaults = async (plan: unknown) => {
    const response = await fetch(`${gateway.localMmeUrl}/_local/faults`, { method: 'PUT', body: JSON.stringify(plan) });
    assert.equal(response.status, 200, await response.text());
  };
  const modelReport = async (model: string) => (await (await fetch(`${gateway.url}/models/${model}`)).json()) as Record<string, unknown>;

  const baseFaults = {
    models: {
      'slow.tar.gz': { loadDelayMs: 4_000 },
      'deadline.tar.gz': { loadDelayMs: 3_000 },
      'broken.tar.gz': { loadDelayMs: 0, errorRates: { ModelError: 1 }, modelErrorStatus: 500 },
    },
  };

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'cold-models-'));
    for (const name of ['churn', 'burst', 'slow', 'deadline', 'broken', 'neighbour']) {
      copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `${name}.tar.gz`));
    }
    const catalog = join(modelDir, 'catalog.yaml');
    writeFileSync(catalog, 'models:\n  slow:\n    coldStartBudgetSeconds: 1\n');
    gateway = await startGateway({
      MODEL_CATALOG: catalog,
      LOCAL_MME_MODEL_DIR: modelDir,
      LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS),
      LOCAL_MME_READY_WAIT_MS: '100',
      LOCAL_MME_FAULTS: JSON.stringify(baseFaults),
      NOT_READY_RETRY_BASE_MS: '50',
      NOT_READY_RETRY_MAX_MS: '100',
      BREAKER_VOLUME_THRESHOLD: '5',
      BREAKER_RESET_TIMEOUT_MS: '1000',
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('turns a burst of 20 callers on a cold model into one probe plus one call each', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => predict('burst')));
    for (const result of results) {
      assert.equal(result.response.status, 200, result.text);
      assert.equal(result.response.headers.get('x-model-start'), 'cold');
    }
    const lastAnswerMs = Math.max(...results.map((r) => r.elapsedMs));
    assert.ok(lastAnswerMs >= LOAD_DELAY_MS, 'the answers waited for the load');
    const exposition = await metrics();
    const upstream = metricValue(exposition, 'mme_gateway_upstream_requests_total', { model: 'burst' });
    const notReady = metricValue(exposition, 'mme_gateway_model_not_ready_total', { model: 'burst' });
    assert.ok(notReady >= 1, 'the probe met ModelNotReadyException while the model loaded');
    assert.equal(upstream, 20 + notReady, 'about N upstream calls plus the probe retries, not N x retries');
    assert.ok(upstream <= 30, `at most 1.5 upstream requests per caller (was ${upstream})`);
    const warm = await predict('burst');
    assert.equal(warm.response.headers.get('x-model-start'), 'warm');
  });

  it('answers 503 MODEL_NOT_READY with Retry-After when the load outlasts the cold-start budget', async () => {
    const result = await predict('slow');
    assert.equal(result.response.status, 503, result.text);
    assert.equal(result.json()['code'], 'MODEL_NOT_READY');
    assert.ok(Number(result.response.headers.get('retry-after')) >= 1);
    assert.ok(result.elapsedMs >= 900 && result.elapsedMs < 2_500, `bounded by the 1 s budget (took ${result.elapsedMs} ms)`);
    assert.equal(result.response.headers.get('x-model-start'), 'cold');
  });

  it("honours a caller deadline shorter than the load", async () => {
    const result = await predict('deadline', { 'x-request-timeout-ms': '400' });
    assert.equal(result.response.status, 503, result.text);
    assert.equal(result.json()['code'], 'MODEL_NOT_READY');
    assert.equal(result.json()['deadline'], 'caller');
    assert.ok(result.elapsedMs < 1_200, `answered near the caller's 400 ms (took ${result.elapsedMs} ms)`);
  });

  it('opens the breaker of a broken model while a healthy neighbour keeps answering, then closes it on recovery', async () => {
    assert.equal((await predict('neighbour')).response.status, 200); // cold load out of the way
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const broken = await predict('broken');
      codes.push(String(broken.json()['code']));
      const neighbour = await predict('neighbour');
      assert.equal(neighbour.response.status, 200, 'the healthy model on the same endpoint is unaffected');
      assert.ok(neighbour.elapsedMs < 500);
    }
    assert.equal(codes[0], 'MODEL_ERROR');
    assert.ok(codes.includes('CIRCUIT_OPEN'), codes.join(','));
    const open = await predict('broken');
    assert.equal(open.response.status, 503);
    assert.equal(open.json()['code'], 'CIRCUIT_OPEN');
    assert.ok(Number(open.response.headers.get('retry-after')) >= 1);
    assert.ok(open.elapsedMs < 100, 'an open breaker fails fast');
    assert.equal(((await modelReport('broken'))['breakers'] as Record<string, string>)['model'], 'open');
    assert.equal(((await modelReport('neighbour'))['breakers'] as Record<string, string>)['endpoint'], 'closed');

    const brokenUpstreamBefore = metricValue(await metrics(), 'mme_gateway_upstream_requests_total', { model: 'broken' });
    await predict('broken');
    assert.equal(metricValue(await metrics(), 'mme_gateway_upstream_requests_total', { model: 'broken' }), brokenUpstreamBefore, 'nothing sent while open');

    await setFaults({ ...baseFaults, models: { ...baseFaults.models, 'broken.tar.gz': { loadDelayMs: 0 } } });
    // The breaker's own reset timer lets one probe through: wait until it has fired.
    await eventually('the model breaker to turn half-open', async () =>
      ((await modelReport('broken'))['breakers'] as Record<string, string>)['model'] === 'half_open' || undefined,
    );
    const recovered = await predict('broken');
    assert.equal(recovered.response.status, 200, recovered.text);
    assert.equal(((await modelReport('broken'))['breakers'] as Record<string, string>)['model'], 'closed');
    const exposition = await metrics();
    assert.ok(metricValue(exposition, 'mme_gateway_breaker_transitions_total', { scope: 'model', to: 'open' }) >= 1);
  });
});
