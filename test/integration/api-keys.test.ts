/**
 * Who may call what, on the real gateway process: API keys (hashes only) with per-key model and
 * endpoint allowlists, through the REST route and, with the real AWS SDK, the SageMaker-compatible
 * route; health checks stay open, /metrics can be restricted, and keys never reach the logs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const CHECKOUT_KEY = 'checkout-secret-key-0123456789';
const OPS_KEY = 'ops-secret-key-9876543210';

/** A runtime client that sends an API key the way an SDK user would: one middleware. */
function clientWithKey(url: string, key: string | undefined): SageMakerRuntimeClient {
  const client = localRuntimeClient(url);
  if (key) {
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-api-key'] = key;
        return next(args);
      },
      { step: 'build', name: 'apiKey' },
    );
  }
  return client;
}

describe('API keys on the real gateway', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: '0',
      METRICS_REQUIRE_API_KEY: 'true',
      API_KEYS: JSON.stringify({
        keys: [
          { id: 'checkout', sha256: sha(CHECKOUT_KEY), models: ['churn'], endpoints: ['local-mme'] },
          { id: 'ops', sha256: sha(OPS_KEY), metrics: true },
        ],
      }),
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  const predict = (model: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: '12,70.5,3,1,0,1' });
  const code = async (response: Response) => ((await response.json()) as { code: string }).code;

  it('refuses calls without a valid key and allows a key its own models only', async () => {
    const badKeys: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { 'x-api-key': 'wrong' }];
    for (const headers of badKeys) {
      const response = await predict('churn', headers);
      assert.equal(response.status, 401);
      assert.equal(await code(response), 'UNAUTHORIZED');
    }
    assert.equal((await predict('churn', { authorization: `Bearer ${CHECKOUT_KEY}` })).status, 200);
    assert.equal((await predict('churn', { 'x-api-key': CHECKOUT_KEY })).status, 200);
    const forbidden = await predict('iris', { 'x-api-key': CHECKOUT_KEY });
    assert.equal(forbidden.status, 403);
    assert.equal(await code(forbidden), 'FORBIDDEN');
  });

  it('keeps health checks open and restricts /metrics to keys allowed to read it', async () => {
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': CHECKOUT_KEY } })).status, 403);
    assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': OPS_KEY } })).status, 200);
  });

  it('applies the same keys on the SageMaker-compatible route, where SigV4 is not identity', async () => {
    const call = (client: SageMakerRuntimeClient, target = 'churn.tar.gz') =>
      invokeEndpoint(client, { EndpointName: 'local-mme', TargetModel: target, ContentType: 'text/csv', Body: '12,70.5,3,1,0,1' });
    const anonymous = clientWithKey(gateway.url, undefined);
    const checkout = clientWithKey(gateway.url, CHECKOUT_KEY);
    const ops = clientWithKey(gateway.url, OPS_KEY);
    try {
      const signedOnly = await call(anonymous);
      assert.equal(signedOnly.errorName, 'AccessDeniedException', 'a valid SigV4 signature alone is not a key');
      assert.equal(signedOnly.status, 403);
      assert.equal((await call(checkout)).ok, true);
      assert.equal((await call(checkout, 'iris.tar.gz')).errorName, 'AccessDeniedException');
      assert.equal((await call(ops)).errorName, 'AccessDeniedException', 'a key without models or endpoints reaches nothing');
    } finally {
      for (const client of [anonymous, checkout, ops]) client.destroy();
    }
  });

  it('logs the caller id, never the key', async () => {
    await predict('churn', { 'x-api-key': CHECKOUT_KEY, 'x-request-id': 'key-log-check' });
    const line = await gateway.waitForLog((entry) => entry['requestId'] === 'key-log-check');
    assert.equal(line?.['caller'], 'checkout');
    const everything = JSON.stringify(gateway.logs) + gateway.stderr.join('\n');
    for (const key of [CHECKOUT_KEY, OPS_KEY]) assert.ok(!everything.includes(key), 'a key reached the logs');
  });
});
