/**
 * Inference components on the real gateway and its embedded local MME: a component scaled to
 * zero copies is provisioned and answered within its cold-start budget as ONE single-flight cold
 * start for a burst of 20 callers (labelled cold, reason scale_from_zero); a caller deadline that
 * ends first gets MODEL_NOT_READY with Retry-After; the SageMaker-compatible route reaches a
 * component only as the catalog lists it, through the real AWS SDK.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const IDLE_MS = 300;
const PROVISION_MS = 1_500;

interface ComponentStats {
  copies: number;
  provisions: number;
  scaleIns: number;
  noCapacity: number;
  invocations: number;
}

describe('inference components that scale to zero, through the gateway', () => {
  let gateway: RunningGateway;
  let client: SageMakerRuntimeClient;

  const predict = async (model: string, headers: Record<string, string> = {}) => {
    const startedAt = performance.now();
    const response = await fetch(`${gateway.url}/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body: CHURN_ROW,
    });
    const text = await response.text();
    return { response, text, elapsedMs: performance.now() - startedAt };
  };
  const componentStats = async (name: string) =>
    ((await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as { inferenceComponents: Record<string, ComponentStats> }).inferenceComponents[name]!;
  const untilZeroCopies = async (name: string) => {
    while ((await componentStats(name)).copies !== 0) await sleep(IDLE_MS / 4);
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ic-catalog-'));
    const catalog = join(dir, 'catalog.yaml');
    writeFileSync(
      catalog,
      [
        'models:',
        '  summarizer: { endpoint: llm-endpoint, inferenceComponent: churn-ic, targetContainerHostname: main, coldStartBudgetSeconds: 20 }',
        '  hurried: { endpoint: llm-endpoint, inferenceComponent: other-ic }',
        '',
      ].join('\n'),
    );
    gateway = await startGateway({
      MODEL_CATALOG: catalog,
      LOCAL_MME_INFERENCE_COMPONENTS: 'churn-ic=churn.tar.gz,other-ic=churn.tar.gz',
      LOCAL_MME_IC_IDLE_MS: String(IDLE_MS),
      LOCAL_MME_IC_PROVISION_MS: String(PROVISION_MS),
      LOCAL_MME_LOAD_DELAY_MS: '0',
      NOT_READY_RETRY_BASE_MS: '50',
      NOT_READY_RETRY_MAX_MS: '200',
    });
    client = localRuntimeClient(gateway.url);
  });
  after(async () => {
    client?.destroy();
    await gateway?.stop();
  });

  it('provisions a component at zero copies once for a burst of 20 callers, within its budget', async () => {
    // The component starts with one copy and scales in after IDLE_MS; the gateway has not called
    // it yet, so nothing tells it the model is warm: the burst goes through the cold-start gate.
    await untilZeroCopies('churn-ic');
    const before = await componentStats('churn-ic');
    const upstreamBefore = metricValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'mme_gateway_upstream_requests_total', { model: 'summarizer' });

    const burst = await Promise.all(Array.from({ length: 20 }, () => predict('summarizer')));
    assert.ok(Number(burst[0]!.text) > 0 && Number(burst[0]!.text) < 1, burst[0]!.text);
    for (const result of burst) {
      assert.equal(result.response.status, 200, result.text);
      assert.equal(result.response.headers.get('x-model-start'), 'cold');
      assert.equal(result.text.trim(), burst[0]!.text.trim(), 'the same prediction for every caller');
    }
    const slowestMs = Math.max(...burst.map((r) => r.elapsedMs));
    assert.ok(slowestMs >= PROVISION_MS - 50, `the answers waited for the provisioning (${slowestMs} ms)`);
    assert.ok(slowestMs < 20_000, 'within the 20 s budget');

    const after = await componentStats('churn-ic');
    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    const upstream = metricValue(exposition, 'mme_gateway_upstream_requests_total', { model: 'summarizer' }) - upstreamBefore;
    const refused = after.noCapacity - before.noCapacity;
    assert.equal(after.provisions - before.provisions, 1, 'one scale-out');
    assert.ok(refused >= 1, 'the probe met the no-capacity answer');
    assert.equal(upstream, 20 + refused, 'the 20 calls plus only the probe\'s refused retries went upstream');
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total', { model: 'summarizer', reason: 'scale_from_zero' }), 1, 'one cold start met the no-capacity answer: the probe');
    assert.equal(metricValue(exposition, 'mme_gateway_cold_starts_total', { model: 'summarizer', reason: 'waited' }), 19, 'the other 19 waited for it');
    console.log(`scale from zero: provisioning ${PROVISION_MS} ms, slowest answer ${Math.round(slowestMs)} ms (budget 20 s), upstream calls ${upstream} = 20 + ${refused} refused probe attempts, 1 provisioning`);
  });

  it('answers MODEL_NOT_READY with Retry-After when the caller deadline ends before the copy is in service', async () => {
    await predict('hurried');
    await untilZeroCopies('other-ic');
    const result = await predict('hurried', { 'x-request-timeout-ms': '400' });
    assert.equal(result.response.status, 503, result.text);
    const problem = JSON.parse(result.text) as Record<string, unknown>;
    assert.equal(problem['code'], 'MODEL_NOT_READY');
    assert.equal(problem['deadline'], 'caller');
    assert.ok(Number(result.response.headers.get('retry-after')) >= 1);
    assert.equal(result.response.headers.get('x-model-start'), 'cold');
  });

  it('reaches a listed component through the SageMaker-compatible route, and nothing else', async () => {
    const ok = await invokeEndpoint(client, { EndpointName: 'llm-endpoint', InferenceComponentName: 'churn-ic', TargetContainerHostname: 'main', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(ok.ok, true, ok.error?.message);
    const unlisted = await invokeEndpoint(client, { EndpointName: 'llm-endpoint', InferenceComponentName: 'secret-ic', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(unlisted.errorName, 'ValidationError');
    assert.match(unlisted.error?.message ?? '', /inference component "secret-ic" is not allowed/);
    const otherHost = await invokeEndpoint(client, { EndpointName: 'llm-endpoint', InferenceComponentName: 'churn-ic', TargetContainerHostname: 'other', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(otherHost.errorName, 'ValidationError');
    assert.match(otherHost.error?.message ?? '', /hostname "other" is not allowed/);
    const wrongEndpoint = await invokeEndpoint(client, { EndpointName: 'local-mme', InferenceComponentName: 'churn-ic', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(wrongEndpoint.errorName, 'ValidationError');
    assert.match(wrongEndpoint.error?.message ?? '', /not allowed/);
  });
});
