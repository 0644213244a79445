/**
 * The local MME's inference components and idle unloading, called by the real AWS SDK:
 * a component answers through InferenceComponentName, scales in to zero copies after its idle
 * time, then refuses invocations with SageMaker's no-capacity ValidationError while one
 * provisioning runs for LOCAL_MME_IC_PROVISION_MS; MME models unused for
 * LOCAL_MME_IDLE_UNLOAD_MS are unloaded and load again on the next call.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { parseLocalMmeConfig } from '../../src/local-mme/config.js';
import { createLocalMme, type LocalMme } from '../../src/local-mme/server.js';
import { createLogger } from '../../src/logger.js';
import { NO_CAPACITY_MESSAGE } from '../../src/sagemaker-wire.js';
import { eventually } from '../helpers/eventually.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const logger = createLogger('error', { silent: true });

describe('local MME inference components and idle unloading', () => {
  const running: Array<{ mme: LocalMme; client: SageMakerRuntimeClient }> = [];
  after(async () => {
    await Promise.all(running.map(({ mme }) => mme.close()));
    for (const { client } of running) client.destroy();
  });
  const start = async (env: Record<string, string>) => {
    const mme = createLocalMme({ config: parseLocalMmeConfig({ LOCAL_MME_PORT: '0', LOCAL_MME_LOAD_DELAY_MS: '0', ...env }), logger });
    const { url } = await mme.listen();
    const started = { mme, url, client: localRuntimeClient(url) };
    running.push(started);
    return started;
  };
  const stats = async (url: string) => (await (await fetch(`${url}/_local/stats`)).json()) as {
    inferenceComponents: Record<string, { copies: number; provisioning: boolean; provisions: number; scaleIns: number; noCapacity: number }>;
    models: Record<string, { loads: number; idleUnloads: number }>;
    loaded: string[];
  };

  it('scales a component to zero when idle and provisions it once for a burst of refused calls', async () => {
    // Long enough that a busy machine still makes the first call, and the burst, inside them.
    const IDLE_MS = 1_000;
    const PROVISION_MS = 1_000;
    const { client, url } = await start({
      LOCAL_MME_INFERENCE_COMPONENTS: 'churn-ic=churn.tar.gz',
      LOCAL_MME_IC_IDLE_MS: String(IDLE_MS),
      LOCAL_MME_IC_PROVISION_MS: String(PROVISION_MS),
    });
    const call = () => invokeEndpoint(client, { EndpointName: 'ic-endpoint', InferenceComponentName: 'churn-ic', ContentType: 'text/csv', Body: CHURN_ROW });

    const sentAt = performance.now(); // the component's last traffic is at or after this
    const warm = await call();
    assert.equal(warm.ok, true, warm.error?.message);
    assert.ok(Number(warm.body) > 0 && Number(warm.body) < 1);
    assert.equal(warm.variant, 'AllTraffic');

    await eventually('zero copies after the idle time', async () => ((await stats(url)).inferenceComponents['churn-ic']?.copies === 0) || undefined);
    assert.ok(performance.now() - sentAt >= IDLE_MS, 'not before the idle time');

    const refusedAt = performance.now();
    const refused = await Promise.all(Array.from({ length: 5 }, call));
    for (const outcome of refused) {
      assert.equal(outcome.ok, false);
      assert.equal(outcome.errorName, 'ValidationError');
      assert.equal(outcome.status, 400);
      assert.equal(outcome.error?.message, NO_CAPACITY_MESSAGE);
    }
    assert.equal((await stats(url)).inferenceComponents['churn-ic']?.provisioning, true);
    // Every call is refused until the copy is in service; the first one answered ends the wait.
    let answered = await call();
    while (!answered.ok) {
      assert.equal(answered.errorName, 'ValidationError', 'every call is refused until the copy is in service');
      await sleep(25);
      answered = await call();
    }
    const provisionedAfterMs = performance.now() - refusedAt;
    assert.ok(provisionedAfterMs >= PROVISION_MS - 5, `provisioning took ${provisionedAfterMs} ms`);

    assert.equal(answered.body, warm.body, 'the same model answers after scale-out');
    const after = (await stats(url)).inferenceComponents['churn-ic'];
    assert.equal(after?.provisions, 1, 'one provisioning for every refused call');
    assert.equal(after?.scaleIns, 1);
    assert.ok((after?.noCapacity ?? 0) >= 5);
  });

  it('refuses unknown and invalid component names with ValidationError', async () => {
    const { client } = await start({ LOCAL_MME_INFERENCE_COMPONENTS: 'churn-ic=churn.tar.gz' });
    const unknown = await invokeEndpoint(client, { EndpointName: 'ic-endpoint', InferenceComponentName: 'other-ic', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(unknown.errorName, 'ValidationError');
    assert.match(unknown.error?.message ?? '', /other-ic/);
    const invalid = await invokeEndpoint(client, { EndpointName: 'ic-endpoint', InferenceComponentName: 'bad_name', ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal(invalid.errorName, 'ValidationError');
    assert.match(invalid.error?.message ?? '', /inferenceComponentName/);
    const hostname = await invokeEndpoint(client, {
      EndpointName: 'ic-endpoint',
      TargetModel: 'churn.tar.gz',
      TargetContainerHostname: '-nope',
      ContentType: 'text/csv',
      Body: CHURN_ROW,
    });
    assert.equal(hostname.errorName, 'ValidationError');
    assert.match(hostname.error?.message ?? '', /targetContainerHostname/);
    assert.throws(() => parseLocalMmeConfig({ LOCAL_MME_INFERENCE_COMPONENTS: 'no-archive' }), /LOCAL_MME_INFERENCE_COMPONENTS/);
  });

  it('unloads a model unused for LOCAL_MME_IDLE_UNLOAD_MS and reloads it on the next call', async () => {
    // Far above one call's time on a busy machine, so the busy model is never idle that long.
    const IDLE_MS = 1_500;
    const { client, url } = await start({ LOCAL_MME_IDLE_UNLOAD_MS: String(IDLE_MS) });
    const call = (target: string) => invokeEndpoint(client, { EndpointName: 'mme', TargetModel: target, ContentType: 'text/csv', Body: CHURN_ROW });
    assert.equal((await call('churn.tar.gz')).ok, true);
    assert.equal((await call('iris.tar.gz')).ok, false, 'iris rejects a churn row, but it is loaded');
    const startedAt = performance.now();
    while (performance.now() - startedAt < IDLE_MS * 2) {
      assert.equal((await call('churn.tar.gz')).ok, true); // churn keeps being used
      await sleep(IDLE_MS / 5);
    }
    const current = await stats(url);
    assert.deepEqual(current.loaded, ['churn.tar.gz'], 'the idle model was unloaded, the busy one stayed');
    assert.equal(current.models['iris.tar.gz']?.idleUnloads, 1);
    assert.equal(current.models['churn.tar.gz']?.loads, 1);
    await call('iris.tar.gz');
    assert.equal((await stats(url)).models['iris.tar.gz']?.loads, 2, 'used again: loaded again');
  });
});
