/**
 * Acceptance for SageMaker's 60-second contract on the wire route, with a short ready wait
 * (WIRE_READY_WAIT_MS=800, loads of 3.5 s) so each case runs in seconds: the SDK gets
 * ModelNotReadyException after the wait while the load goes on, its retries join the same load,
 * X-Request-Timeout-Ms holds a wire caller longer, and the REST route keeps its full cold-start
 * budget. wire-ready-wait-60s.test.ts checks the real 58 s default once, with boto3.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const READY_WAIT_MS = 800;
const LOAD_DELAY_MS = 3_500;
const MODELS = ['joined', 'patient', 'rest-budget'];

describe('wire route: ModelNotReadyException after the ready wait (short settings)', () => {
  let gateway: RunningGateway;
  let client: SageMakerRuntimeClient;
  const loads = async (model: string) =>
    ((await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as { models: Record<string, { loads: number }> }).models[`${model}.tar.gz`]?.loads;
  const wire = (model: string) => {
    const startedAt = Date.now();
    return invokeEndpoint(client, { EndpointName: 'local-mme', TargetModel: `${model}.tar.gz`, ContentType: 'text/csv', Body: CHURN_ROW }).then((outcome) => ({
      ...outcome,
      ms: Date.now() - startedAt,
    }));
  };
  const rest = async (model: string) => {
    const startedAt = Date.now();
    const response = await fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: CHURN_ROW });
    return { status: response.status, body: await response.text(), ms: Date.now() - startedAt };
  };

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'wire-wait-models-'));
    for (const name of MODELS) copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `${name}.tar.gz`));
    gateway = await startGateway({ LOCAL_MME_MODEL_DIR: modelDir, LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS), WIRE_READY_WAIT_MS: String(READY_WAIT_MS) });
    client = localRuntimeClient(gateway.url);
  });
  after(async () => {
    client?.destroy();
    await gateway?.stop();
  });

  it('answers ModelNotReadyException after the wait; the load goes on, retries join it, a REST waiter is still served', async () => {
    const first = wire('joined');
    const restWaiter = rest('joined'); // queued behind the wire probe, with the full cold-start budget
    const notReady = await first;
    assert.equal(notReady.errorName, 'ModelNotReadyException', notReady.error?.message);
    assert.equal(notReady.status, 429);
    const headers = (notReady.error as { $response?: { headers: Record<string, string> } }).$response?.headers ?? {};
    assert.equal(headers['x-gateway-error-code'], 'MODEL_NOT_READY');
    assert.ok(Number(headers['retry-after']) >= 1);
    // Answered at the wait, not at the end of the load (the upper bound is the load itself, so a
    // busy machine's scheduling delay cannot fail the test while the property still holds).
    assert.ok(notReady.ms >= READY_WAIT_MS - 100 && notReady.ms < LOAD_DELAY_MS, `after the ${READY_WAIT_MS} ms wait, before the load ends (${notReady.ms} ms)`);

    // The client retries as the SDKs do; each retry joins the load already under way.
    const outcomes = [notReady.errorName];
    let answer = await wire('joined');
    while (!answer.ok) {
      assert.equal(answer.errorName, 'ModelNotReadyException', answer.error?.message);
      outcomes.push(answer.errorName);
      answer = await wire('joined');
    }
    // Each ModelNotReadyException costs one ready wait, so the load bounds how many there can be.
    assert.ok(outcomes.length <= Math.ceil(LOAD_DELAY_MS / READY_WAIT_MS), `bounded retries: ${outcomes.join(', ')}`);
    const served = await restWaiter;
    assert.equal(served.status, 200, served.body);
    assert.equal(answer.body, served.body, 'the same prediction on both routes');
    assert.equal(await loads('joined'), 1, 'one load for every caller and retry');
  });

  it('holds a wire caller longer when it sends X-Request-Timeout-Ms', async () => {
    const startedAt = Date.now();
    const response = await fetch(`${gateway.url}/endpoints/local-mme/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-amzn-sagemaker-target-model': 'patient.tar.gz', 'x-request-timeout-ms': '10000' },
      body: CHURN_ROW,
    });
    const ms = Date.now() - startedAt;
    assert.equal(response.status, 200, await response.text());
    assert.ok(ms >= LOAD_DELAY_MS - 200, `waited for the whole load (${ms} ms), past the ${READY_WAIT_MS} ms ready wait`);
  });

  it('keeps the full cold-start budget on the REST route', async () => {
    const answer = await rest('rest-budget');
    assert.equal(answer.status, 200, answer.body);
    assert.ok(answer.ms >= LOAD_DELAY_MS - 200, `waited for the whole load (${answer.ms} ms)`);
  });
});
