/**
 * 10,000 distinct model names: through the real gateway process, model state, breakers and
 * metric labels stay within their caps and handles stay flat; in-process, the heap they retain
 * after full garbage collections stays small.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, symlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_MODEL_DIR, parseLocalMmeConfig } from '../../src/local-mme/config.js';
import { createLocalMme, type LocalMme } from '../../src/local-mme/server.js';
import { createLogger } from '../../src/logger.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { echoTransport, inProcessApp } from '../helpers/in-process-app.js';

const NAMES = 10_000;
const CONCURRENCY = 16;
const MODEL_STATE_MAX = 1_000;
const BREAKER_MAX_MODELS = 200;
const MAX_MODEL_LABELS = 50;

describe('10,000 distinct model names', () => {
  let localMme: LocalMme;
  let gateway: RunningGateway;

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'many-models-'));
    for (let i = 0; i < NAMES; i++) symlinkSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `m${i}.tar.gz`));
    const config = { ...parseLocalMmeConfig({ LOCAL_MME_PORT: '0', LOCAL_MME_LOAD_DELAY_MS: '0' }), modelDir, memoryBytes: 2 * 1024 * 1024 };
    localMme = createLocalMme({ config, logger: createLogger('error', { silent: true }) });
    const { url } = await localMme.listen();
    gateway = await startGateway({
      LOCAL_MME: 'off',
      SAGEMAKER_RUNTIME_URL: url,
      SAGEMAKER_ENDPOINT_NAME: 'local-mme',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local-secret',
      MODEL_STATE_MAX: String(MODEL_STATE_MAX),
      BREAKER_MAX_MODELS: String(BREAKER_MAX_MODELS),
      METRICS_MAX_MODEL_LABELS: String(MAX_MODEL_LABELS),
    });
  });
  after(async () => {
    await gateway?.stop();
    await localMme?.close();
  });

  async function sweep(from: number, to: number, urlFor = (i: number) => `${gateway.url}/models/m${i}/predict`) {
    let next = from;
    let failures = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < to) {
          const response = await fetch(urlFor(next++), { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
          await response.arrayBuffer();
          if (response.status !== 200) failures++;
        }
      }),
    );
    return failures;
  }

  it('keeps state, breakers, labels and handles bounded in the real process', async () => {
    assert.equal(await sweep(0, 1_000), 0);
    const early = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(await sweep(1_000, NAMES), 0);
    const late = await (await fetch(`${gateway.url}/metrics`)).text();

    const handleGrowth = metricValue(late, 'nodejs_active_handles') - metricValue(early, 'nodejs_active_handles');
    // Sockets come and go with the concurrent callers; a per-model leak would be thousands.
    assert.ok(handleGrowth <= CONCURRENCY, `active handles grew by ${handleGrowth}`);
    assert.ok(metricValue(late, 'mme_gateway_breakers_live') <= BREAKER_MAX_MODELS);
    const models = (await (await fetch(`${gateway.url}/models`)).json()) as { models: unknown[] };
    assert.ok(models.models.length <= MODEL_STATE_MAX, `${models.models.length} model states kept`);
    const modelLabels = new Set(
      [...late.matchAll(/^mme_gateway_invocation_duration_seconds_count\{[^}]*model="([^"]*)"/gm)].map((match) => match[1]),
    );
    assert.ok(modelLabels.size <= MAX_MODEL_LABELS + 1, `${modelLabels.size} model label values`);
    assert.ok(modelLabels.has('__other__'));
    assert.equal(metricValue(late, 'mme_gateway_invocation_duration_seconds_count'), NAMES);
  });

  // RSS moves with garbage V8 has not collected yet (±35 MB run to run here), so memory is
  // measured exactly: the same app in this process, heap used after full collections.
  it('retains well under 50 MB of heap for 10,000 names with the default caps', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { app, close } = await inProcessApp({}, echoTransport());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const settledHeap = async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    try {
      assert.equal(await sweep(0, 2_000, () => `${url}/models/churn/predict`), 0);
      const before = await settledHeap();
      assert.equal(await sweep(0, NAMES, (i) => `${url}/models/m${i}/predict`), 0);
      const retainedMb = ((await settledHeap()) - before) / 1048576;
      console.log(`10,000 names retain ${retainedMb.toFixed(1)} MB of heap`);
      assert.ok(retainedMb < 50, `10,000 names retain ${retainedMb.toFixed(1)} MB`);
    } finally {
      server.close();
      await close();
    }
  });
});
