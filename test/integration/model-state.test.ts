/**
 * Acceptance for model state from evidence, on the real gateway and local MME processes:
 * a reload after the upstream evicted a model is cold (header, access log, histogram); a
 * gateway restart in front of an upstream that kept the model loaded answers warm; a model
 * whose archive cannot load fails fast, alone or in a herd, and opens its breaker after at most
 * five failures in a row however slowly it is called; a missing archive is 404 on the REST route
 * and SageMaker's ValidationError on the wire route.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { writeCorruptArchive, writeLargeModel } from '../helpers/model-archives.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const CHURN_ROW = '12,70.5,3,1,0,1';

async function predict(gateway: RunningGateway, model: string) {
  const startedAt = Date.now();
  const response = await fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: CHURN_ROW });
  const text = await response.text();
  const json = () => JSON.parse(text) as Record<string, unknown>;
  return { status: response.status, start: response.headers.get('x-model-start'), headers: response.headers, text, json, elapsedMs: Date.now() - startedAt, requestId: response.headers.get('x-request-id') };
}

async function modelReport(gateway: RunningGateway, model: string) {
  return (await (await fetch(`${gateway.url}/models/${model}`)).json()) as Record<string, unknown>;
}

/** The access line is written when the response closes, which may follow the client's read. */
function accessLine(gateway: RunningGateway, requestId: string | null) {
  return gateway.waitForLog((record) => record['message'] === 'request' && record['requestId'] === requestId);
}

const metrics = async (gateway: RunningGateway) => (await fetch(`${gateway.url}/metrics`)).text();

describe('a reload after the upstream evicted the model', () => {
  const LOAD_DELAY_MS = 2_000;
  let gateway: RunningGateway;
  const others = ['big-b', 'big-c', 'big-d', 'big-e', 'big-f', 'big-g', 'big-h'];

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'evict-models-'));
    for (const name of ['big-a', ...others]) await writeLargeModel(modelDir, name, 700 * 1024);
    // Default cold-evidence thresholds, and a ready wait above the load: the reload raises no
    // ModelNotReadyException, exactly as a SageMaker reload that finishes inside 60 s.
    gateway = await startGateway({ LOCAL_MME_MODEL_DIR: modelDir, LOCAL_MME_MEMORY_MB: '1', LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS) });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('is cold in the header, the access log and the histogram, and the model is warm again after it', async () => {
    const first = await predict(gateway, 'big-a');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.start, 'cold', 'the first call waited for the load');
    assert.equal((await accessLine(gateway, first.requestId))['coldReason'], 'slow_first_call');
    const warm = await predict(gateway, 'big-a');
    assert.equal(warm.start, 'warm');
    assert.ok(warm.elapsedMs < 500, `warm call took ${warm.elapsedMs} ms`);

    const loads = await Promise.all(others.map((name) => predict(gateway, name)));
    assert.ok(loads.every((load) => load.status === 200));
    const stats = (await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as { loaded: string[]; models: Record<string, { evictions: number }> };
    assert.ok(!stats.loaded.includes('big-a.tar.gz'), 'the local MME unloaded big-a to make room');
    assert.equal(stats.models['big-a.tar.gz']?.evictions, 1);

    const reload = await predict(gateway, 'big-a');
    assert.equal(reload.status, 200, reload.text);
    assert.ok(reload.elapsedMs >= LOAD_DELAY_MS, `the upstream loaded it again (${reload.elapsedMs} ms)`);
    assert.equal(reload.start, 'cold', 'an unannounced reload is cold');
    const line = await accessLine(gateway, reload.requestId);
    assert.equal(line['start'], 'cold');
    assert.equal(line['coldReason'], 'inferred_reload');

    const exposition = await metrics(gateway);
    const histogram = (start: string) => metricValue(exposition, 'mme_gateway_invocation_duration_seconds_count', { model: 'big-a', start });
    assert.equal(histogram('cold'), 2, 'the first load and the reload');
    assert.equal(histogram('warm'), 1);
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total', { model: 'big-a', reason: 'inferred_reload' }), 1);
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total', { model: 'big-a', reason: 'slow_first_call' }), 1);

    const report = await modelReport(gateway, 'big-a');
    assert.equal(report['state'], 'warm', 'after a reload the model is warm again');
    assert.equal(report['lastColdReason'], 'inferred_reload');
    assert.equal(typeof report['lastColdAt'], 'string');
    assert.ok(typeof report['warmBaselineMs'] === 'number' && report['warmBaselineMs'] < 500, `baseline ${String(report['warmBaselineMs'])}`);
    const again = await predict(gateway, 'big-a');
    assert.equal(again.start, 'warm');
  });
});

describe('a gateway restarted in front of an upstream that kept the model loaded', () => {
  let localMme: RunningGateway;
  let gateway: RunningGateway | undefined;

  before(async () => {
    localMme = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '1500' }, { entry: 'src/local-mme/main.ts', listeningMessage: 'local MME listening' });
  });
  after(async () => {
    await gateway?.stop();
    await localMme?.stop();
  });

  const startFreshGateway = () =>
    startGateway({ SAGEMAKER_RUNTIME_URL: localMme.url, SAGEMAKER_ENDPOINT_NAME: 'local-mme', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });

  it('answers its first call warm: first sight is not evidence', async () => {
    gateway = await startFreshGateway();
    const load = await predict(gateway, 'churn');
    assert.equal(load.status, 200, load.text);
    assert.equal(load.start, 'cold', 'the load itself is a slow first call');
    await gateway.stop();

    gateway = await startFreshGateway();
    const first = await predict(gateway, 'churn');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.start, 'warm');
    assert.ok(first.elapsedMs < 1_000, `answered from the loaded model (${first.elapsedMs} ms)`);
    const exposition = await metrics(gateway);
    assert.equal(metricValue(exposition, 'mme_gateway_invocation_duration_seconds_count', { model: 'churn', start: 'cold' }), 0);
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total'), 0);
  });
});

describe('models that cannot load, and models that do not exist', () => {
  const LOAD_DELAY_MS = 1_500;
  const RETRY_MAX_MS = 250;
  /** One load attempt, the backoff of the retry that meets its failure, and a margin for a busy machine. */
  const ONE_LOAD_MS = LOAD_DELAY_MS + RETRY_MAX_MS + 1_000;
  let gateway: RunningGateway;

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'failing-models-'));
    writeCorruptArchive(modelDir, 'corrupt');
    writeCorruptArchive(modelDir, 'corrupt-herd');
    copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, 'neighbour.tar.gz'));
    gateway = await startGateway({
      LOCAL_MME_MODEL_DIR: modelDir,
      LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS),
      LOCAL_MME_READY_WAIT_MS: '300',
      // Forget a failed load quickly, so each slow sequential call below pays a whole load attempt.
      LOCAL_MME_FAILED_LOAD_MEMORY_MS: '1000',
      NOT_READY_RETRY_BASE_MS: '100',
      NOT_READY_RETRY_MAX_MS: String(RETRY_MAX_MS),
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('fails each slow sequential call within one load attempt and opens the breaker after 5 in a row', async () => {
    assert.equal((await predict(gateway, 'neighbour')).status, 200);
    const elapsed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const failed = await predict(gateway, 'corrupt');
      assert.equal(failed.status, 502, failed.text);
      assert.equal(failed.json()['code'], 'MODEL_ERROR');
      elapsed.push(failed.elapsedMs);
      assert.ok(failed.elapsedMs < ONE_LOAD_MS, `call ${i + 1} took ${failed.elapsedMs} ms`);
      await sleep(1_500); // one call every few seconds: far too few for the rolling window to trip
    }
    const open = await predict(gateway, 'corrupt');
    assert.equal(open.status, 503, open.text);
    assert.equal(open.json()['code'], 'CIRCUIT_OPEN');
    assert.ok(Number(open.headers.get('retry-after')) >= 1);
    assert.ok(open.elapsedMs < 200, `an open breaker answers at once (${open.elapsedMs} ms)`);
    const neighbour = await predict(gateway, 'neighbour');
    assert.equal(neighbour.status, 200, 'neighbours are unaffected');

    const report = await modelReport(gateway, 'corrupt');
    assert.equal(report['state'], 'failing');
    assert.equal((report['breakers'] as Record<string, string>)['model'], 'open');
    assert.ok((report['consecutiveFailures'] as number) >= 5);
    const lastError = report['lastError'] as Record<string, unknown>;
    assert.equal(lastError['code'], 'MODEL_ERROR');
    assert.match(String(lastError['detail']), /cannot read model archive/);
    assert.ok(Date.now() - Date.parse(String(lastError['at'])) < 10_000);
    console.log(`corrupt model: sequential calls ${elapsed.join(', ')} ms; breaker open after ${elapsed.length} failures; open answer ${open.elapsedMs} ms`);
  });

  it('fails 10 concurrent callers within one load attempt, with one load', async () => {
    const herd = await Promise.all(Array.from({ length: 10 }, () => predict(gateway, 'corrupt-herd')));
    for (const result of herd) {
      assert.equal(result.status, 502, result.text);
      assert.equal(result.json()['code'], 'MODEL_ERROR');
    }
    const slowest = Math.max(...herd.map((result) => result.elapsedMs));
    assert.ok(slowest < ONE_LOAD_MS, `the last caller failed after ${slowest} ms`);
    const stats = (await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as { models: Record<string, { loadFailures: number }> };
    assert.equal(stats.models['corrupt-herd.tar.gz']?.loadFailures, 1, 'the herd shared one load attempt');
    console.log(`corrupt model herd: 10 callers failed within ${slowest} ms`);
  });

  it('answers a missing archive 404 MODEL_NOT_FOUND at once; the wire route keeps SageMaker ValidationError', async () => {
    const missing = await predict(gateway, 'no-such-model');
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.json()['code'], 'MODEL_NOT_FOUND');
    assert.match(String(missing.json()['detail']), /Failed to download model data/);
    assert.ok(missing.elapsedMs < 1_000, `took ${missing.elapsedMs} ms`);
    const wire = await invokeEndpoint(localRuntimeClient(gateway.url), {
      EndpointName: 'local-mme',
      TargetModel: 'no-such-model.tar.gz',
      ContentType: 'text/csv',
      Body: CHURN_ROW,
    });
    assert.equal(wire.ok, false);
    assert.equal(wire.errorName, 'ValidationError');
    assert.equal(wire.status, 400);
    assert.match(String(wire.error?.message), /Failed to download model data/);
    console.log(`missing archive: 404 in ${missing.elapsedMs} ms`);
  });
});
