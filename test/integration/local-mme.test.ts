/**
 * The local MME as a real HTTP server, called by the real AWS SDK: wire compatibility (the
 * SDK's own exception classes for every SageMaker error), multi-model behaviour (load on
 * first use, ModelNotReadyException, LRU unloading, failed loads), faults, and containment of
 * TargetModel inside the model directory.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { parseLocalMmeConfig, DEFAULT_MODEL_DIR, type LocalMmeConfig } from '../../src/local-mme/config.js';
import { createLocalMme, type LocalMme } from '../../src/local-mme/server.js';
import { loadXgboostModel } from '../../src/local-mme/xgboost-loader.js';
import { createLogger } from '../../src/logger.js';
import { eventually } from '../helpers/eventually.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const logger = createLogger('error', { silent: true });

async function startLocalMme(overrides: Partial<LocalMmeConfig>) {
  const config = { ...parseLocalMmeConfig({ LOCAL_MME_PORT: '0', LOCAL_MME_LOAD_DELAY_MS: '0' }), ...overrides };
  const mme = createLocalMme({ config, logger });
  const { url } = await mme.listen();
  return { mme, url, client: localRuntimeClient(url) };
}

async function getJson(url: string) {
  return (await (await fetch(url)).json()) as Record<string, unknown>;
}

describe('local MME over the wire with the real AWS SDK', () => {
  let modelDir: string;
  let modelBytes: number;
  let running: Array<{ mme: LocalMme; client: SageMakerRuntimeClient }> = [];

  before(async () => {
    modelDir = mkdtempSync(join(tmpdir(), 'local-mme-models-'));
    for (const name of ['a', 'b', 'c']) copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `${name}.tar.gz`));
    mkdirSync(join(modelDir, 'team', 'v7'), { recursive: true });
    copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, 'team', 'v7', 'model.tar.gz'));
    writeFileSync(join(modelDir, 'corrupt.tar.gz'), 'this is not a gzip archive');
    modelBytes = (await loadXgboostModel(join(modelDir, 'a.tar.gz'))).memoryBytes;
  });
  after(async () => {
    await Promise.all(running.map(({ mme }) => mme.close()));
    for (const { client } of running) client.destroy();
  });
  const start = async (overrides: Partial<LocalMmeConfig>) => {
    const started = await startLocalMme({ modelDir, ...overrides });
    running.push(started);
    return started;
  };

  it('answers a real prediction with the variant header and echoed custom attributes', async () => {
    const { client } = await start({});
    const nested = await invokeEndpoint(client, { EndpointName: 'any-endpoint', TargetModel: 'team/v7/model.tar.gz', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(nested.ok, true, nested.error?.message);
    const answer = await invokeEndpoint(client, {
      EndpointName: 'any-endpoint',
      TargetModel: 'a.tar.gz',
      ContentType: 'text/csv',
      Accept: 'text/csv',
      CustomAttributes: 'trace=1',
      Body: CHURN_ROW,
    });
    assert.equal(answer.ok, true, answer.error?.message);
    assert.equal(answer.variant, 'AllTraffic');
    assert.equal(answer.customAttributes, 'trace=1');
    assert.match(answer.contentType ?? '', /^text\/csv/);
    assert.equal(answer.body, nested.body, 'the same model in two places gives the same prediction');
    const probability = Number(answer.body?.trim());
    assert.ok(probability > 0 && probability < 1);
  });

  it('raises the SDK exception of each SageMaker error type', async () => {
    const { client, url } = await start({});
    const call = (target: string, body = CHURN_ROW, endpoint = 'any-endpoint') =>
      invokeEndpoint(client, { EndpointName: endpoint, TargetModel: target, ContentType: 'text/csv', Body: body });

    for (const escape of ['../outside.tar.gz', '/etc/passwd', 'team/../../x.tar.gz']) {
      const refused = await call(escape);
      assert.equal(refused.errorName, 'ValidationError', escape);
      assert.equal(refused.status, 400);
    }
    const missing = await call('missing.tar.gz');
    assert.equal(missing.errorName, 'ValidationError');

    const badInput = await call('a.tar.gz', 'not,a,number,row,x,y');
    assert.equal(badInput.errorName, 'ModelError');
    assert.equal(badInput.status, 424);
    assert.equal(badInput.error?.['OriginalStatusCode'], 400);
    assert.match(String(badInput.error?.['OriginalMessage']), /.+/);

    const corrupt = await call('corrupt.tar.gz');
    assert.equal(corrupt.errorName, 'ModelError', 'a model that fails to load answers ModelError');
    assert.equal(corrupt.error?.['OriginalStatusCode'], 500);

    const expected: Record<string, number> = { InternalFailure: 500, ServiceUnavailable: 503, InternalDependencyException: 530, ModelNotReadyException: 429 };
    for (const [type, status] of Object.entries(expected)) {
      const put = await fetch(`${url}/_local/faults`, { method: 'PUT', body: JSON.stringify({ models: { 'b.tar.gz': { errorRates: { [type]: 1 } } } }) });
      assert.equal(put.status, 200);
      const faulty = await call('b.tar.gz');
      assert.equal(faulty.errorName, type);
      assert.equal(faulty.status, status);
      assert.equal((await call('a.tar.gz')).ok, true, 'other models are unaffected');
    }
    const badPlan = await fetch(`${url}/_local/faults`, { method: 'PUT', body: JSON.stringify({ errorRates: { Teapot: 1 } }) });
    assert.equal(badPlan.status, 400);
  });

  it('answers ModelNotReadyException while a model loads, then serves it', async () => {
    const { client, url } = await start({ loadDelayMs: 400, readyWaitMs: 50 });
    const first = await invokeEndpoint(client, { EndpointName: 'e', TargetModel: 'a.tar.gz', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(first.errorName, 'ModelNotReadyException');
    assert.equal(first.status, 429);
    assert.deepEqual((await getJson(`${url}/_local/stats`))['loading'], ['a.tar.gz']);
    // The load finishes on the local MME's own timer: wait for it to say so, not for a guess.
    await eventually('a.tar.gz to load', async () => ((await getJson(`${url}/_local/stats`))['loaded'] as string[]).includes('a.tar.gz') || undefined);
    const later = await invokeEndpoint(client, { EndpointName: 'e', TargetModel: 'a.tar.gz', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(later.ok, true);
    const stats = await getJson(`${url}/_local/stats`);
    assert.equal((stats['models'] as Record<string, { loads: number }>)['a.tar.gz']?.loads, 1, 'one load however many callers');
  });

  it('unloads the least recently used model when memory is exceeded', async () => {
    const { client, url } = await start({ memoryBytes: Math.floor(modelBytes * 2.5) });
    const call = (target: string) => invokeEndpoint(client, { EndpointName: 'e', TargetModel: target, ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal((await call('a.tar.gz')).ok, true);
    assert.equal((await call('b.tar.gz')).ok, true);
    assert.equal((await call('a.tar.gz')).ok, true); // a is now the most recently used
    assert.equal((await call('c.tar.gz')).ok, true); // evicts b
    let stats = await getJson(`${url}/_local/stats`);
    assert.deepEqual(stats['loaded'], ['a.tar.gz', 'c.tar.gz']);
    assert.ok((stats['memoryUsedBytes'] as number) <= (stats['memoryLimitBytes'] as number));
    assert.equal((await call('b.tar.gz')).ok, true); // b loads again, evicting a
    stats = await getJson(`${url}/_local/stats`);
    assert.deepEqual(stats['loaded'], ['c.tar.gz', 'b.tar.gz']);
    const models = stats['models'] as Record<string, { loads: number; evictions: number }>;
    assert.equal(models['b.tar.gz']?.loads, 2);
    assert.equal(models['b.tar.gz']?.evictions, 1);
    assert.equal(models['a.tar.gz']?.evictions, 1);
  });

  it('answers only the configured endpoints and validates the SDK parameters', async () => {
    const { client } = await start({ endpoints: ['risk-mme'] });
    const call = (input: { EndpointName: string; TargetModel?: string; InferenceId?: string }) =>
      invokeEndpoint(client, { ContentType: 'text/csv', Body: CHURN_ROW, ...input });
    assert.equal((await call({ EndpointName: 'risk-mme', TargetModel: 'a.tar.gz' })).ok, true);
    assert.equal((await call({ EndpointName: 'other-mme', TargetModel: 'a.tar.gz' })).errorName, 'ValidationError');
    assert.equal((await call({ EndpointName: 'risk-mme' })).errorName, 'ValidationError', 'TargetModel is required on an MME');
    assert.equal((await call({ EndpointName: 'risk-mme', TargetModel: 'x'.repeat(1025) })).errorName, 'ValidationError');
  });

  it('resets and hangs on demand, and close() ends hung requests', async () => {
    const { mme, url, client } = await start({});
    await fetch(`${url}/_local/faults`, { method: 'PUT', body: JSON.stringify({ models: { 'c.tar.gz': { resetRate: 1 } } }) });
    const reset = await invokeEndpoint(client, { EndpointName: 'e', TargetModel: 'c.tar.gz', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(reset.ok, false);
    assert.notEqual(reset.status, 200);
    await fetch(`${url}/_local/faults`, { method: 'PUT', body: JSON.stringify({ hang: true }) });
    const hung = invokeEndpoint(client, { EndpointName: 'e', TargetModel: 'a.tar.gz', ContentType: 'text/csv', Body: CHURN_ROW });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closedAt = Date.now();
    await mme.close();
    assert.ok(Date.now() - closedAt < 1_000, 'close() does not wait for hung requests');
    assert.equal((await hung).ok, false);
    running = running.filter((entry) => entry.mme !== mme);
  });
});
