/**
 * 10,000 distinct model names through the real gateway process: model state, breakers and
 * metric labels stay within their caps, and memory and handles stay flat. The local MME runs
 * in this test's process so the gateway's own memory is what gets measured.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_DIR, parseLocalMmeConfig } from '../../src/local-mme/config.js';
import { createLocalMme, type LocalMme } from '../../src/local-mme/server.js';
import { createLogger } from '../../src/logger.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const NAMES = 10_000;
const CONCURRENCY = 32;
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

  async function sweep(from: number, to: number) {
    let next = from;
    let failures = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < to) {
          const i = next++;
          const response = await fetch(`${gateway.url}/models/m${i}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
          await response.arrayBuffer();
          if (response.status !== 200) failures++;
        }
      }),
    );
    return failures;
  }

  it('keeps state, breakers, labels, memory and handles bounded', async () => {
    assert.equal(await sweep(0, 1_000), 0);
    const early = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(await sweep(1_000, NAMES), 0);
    const late = await (await fetch(`${gateway.url}/metrics`)).text();

    const rssGrowthMb = (metricValue(late, 'process_resident_memory_bytes') - metricValue(early, 'process_resident_memory_bytes')) / 1024 / 1024;
    assert.ok(rssGrowthMb < 50, `RSS grew ${rssGrowthMb.toFixed(1)} MB over 9,000 new names`);
    const handleGrowth = metricValue(late, 'nodejs_active_handles') - metricValue(early, 'nodejs_active_handles');
    // Sockets come and go with the 32 concurrent callers; a per-model leak would be thousands.
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
});
