/**
 * Keep-warm on the real gateway and its embedded local MME, which unloads models unused for
 * LOCAL_MME_IDLE_UNLOAD_MS: over a quiet run several times longer than that, a model with
 * `keepWarm` is never reloaded while one without it is; keep-warm calls count in their own
 * metric and never in the invocation histogram.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const IDLE_UNLOAD_MS = 2_500;
const QUIET_RUN_MS = 3 * IDLE_UNLOAD_MS;

describe('keep-warm', () => {
  let gateway: RunningGateway;

  const predict = async (model: string) => {
    const response = await fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: CHURN_ROW });
    return { status: response.status, text: await response.text() };
  };
  const loads = async () =>
    ((await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as { models: Record<string, { loads: number; idleUnloads: number }> }).models;

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'keep-warm-models-'));
    for (const name of ['kept', 'plain']) copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `${name}.tar.gz`));
    const catalog = join(modelDir, 'catalog.yaml');
    writeFileSync(
      catalog,
      ['models:', `  kept: { keepWarm: { intervalSeconds: 1 }, warmup: { contentType: text/csv, body: "${CHURN_ROW}" } }`, '  plain: {}', ''].join('\n'),
    );
    gateway = await startGateway({
      MODEL_CATALOG: catalog,
      LOCAL_MME_MODEL_DIR: modelDir,
      LOCAL_MME_LOAD_DELAY_MS: '0',
      LOCAL_MME_IDLE_UNLOAD_MS: String(IDLE_UNLOAD_MS),
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('keeps a keep-warm model loaded through a quiet run longer than the idle unload, and only that one', async () => {
    assert.equal((await predict('kept')).status, 200);
    assert.equal((await predict('plain')).status, 200);
    await sleep(QUIET_RUN_MS);
    assert.equal((await predict('kept')).status, 200);
    assert.equal((await predict('plain')).status, 200);

    const models = await loads();
    assert.equal(models['kept.tar.gz']?.loads, 1, 'the keep-warm model was never reloaded');
    assert.equal(models['kept.tar.gz']?.idleUnloads, 0);
    assert.equal(models['plain.tar.gz']?.loads, 2, 'the other model was unloaded while idle and loaded again');

    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    const keepWarmCalls = metricValue(exposition, 'mme_gateway_keep_warm_total', { model: 'kept', outcome: 'success' });
    assert.ok(keepWarmCalls >= Math.floor(QUIET_RUN_MS / 1000) - 2, `keep-warm calls about once a second (${keepWarmCalls})`);
    assert.equal(metricValue(exposition, 'mme_gateway_keep_warm_total', { model: 'plain' }), 0);
    assert.equal(
      metricValue(exposition, 'mme_gateway_invocation_duration_seconds_count', { model: 'kept' }),
      2,
      'only the two predictions are invocations; keep-warm calls are not',
    );
    console.log(`keep-warm: quiet run ${QUIET_RUN_MS} ms vs idle unload ${IDLE_UNLOAD_MS} ms: kept loads 1 (${keepWarmCalls} keep-warm calls), plain loads ${models['plain.tar.gz']?.loads}`);
  });
});
