/**
 * The upstream is absent: nothing listens, the name does not resolve, or the connection is
 * black-holed (accepted, never answered). Callers get a clear 502/504 within the configured
 * timeouts and retries, never a hang. Real gateway processes, real HTTP.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { listen } from '../../src/server.js';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';

const SOCKET_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 300;
const TRANSIENT_RETRIES = 2;
/** Every attempt's timeout plus the backoffs between them, with room for a loaded CI machine. */
const WORST_CASE_MS = (TRANSIENT_RETRIES + 1) * SOCKET_TIMEOUT_MS + 1_500;

function gatewayAt(runtimeUrl: string) {
  return startGateway({
    LOCAL_MME: 'off',
    SAGEMAKER_RUNTIME_URL: runtimeUrl,
    SAGEMAKER_ENDPOINT_NAME: 'absent-mme',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    UPSTREAM_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    UPSTREAM_SOCKET_TIMEOUT_MS: String(SOCKET_TIMEOUT_MS),
    TRANSIENT_RETRIES: String(TRANSIENT_RETRIES),
    TRANSIENT_RETRY_BASE_MS: '20',
    // These tests look at single calls; the retry budget's floor must not be what limits them.
    RETRY_BUDGET_PERCENT: '100',
  });
}

describe('absent upstream', () => {
  const blackHoleSockets = new Set<Socket>();
  const blackHole = createServer((socket) => {
    blackHoleSockets.add(socket); // accepted and never answered
    socket.on('close', () => blackHoleSockets.delete(socket));
  });
  let refusedPort: number;
  const gateways: Record<string, RunningGateway> = {};

  before(async () => {
    const blackHolePort = await listen(blackHole, 0, '127.0.0.1');
    const closed = createServer();
    refusedPort = await listen(closed, 0, '127.0.0.1');
    await new Promise((resolve) => closed.close(resolve)); // now nothing listens there
    const [refused, unresolvable, silent] = await Promise.all([
      gatewayAt(`http://127.0.0.1:${refusedPort}`),
      gatewayAt('http://sagemaker-runtime.no-such-host.invalid'),
      gatewayAt(`http://127.0.0.1:${blackHolePort}`),
    ]);
    Object.assign(gateways, { refused, unresolvable, silent });
  });
  after(async () => {
    await Promise.all(Object.values(gateways).map((gateway) => gateway.stop()));
    for (const socket of blackHoleSockets) socket.destroy();
    blackHole.close();
  });

  const cases: Array<[string, number, string]> = [
    ['refused', 502, 'UPSTREAM_UNREACHABLE'],
    ['unresolvable', 502, 'UPSTREAM_UNREACHABLE'],
    ['silent', 504, 'UPSTREAM_TIMEOUT'],
  ];
  for (const [name, status, code] of cases) {
    it(`answers ${status} ${code} when the upstream is ${name}, within the timeouts`, async () => {
      const gateway = gateways[name]!;
      const startedAt = Date.now();
      const response = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1,2,3' });
      const elapsedMs = Date.now() - startedAt;
      const problem = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, status, JSON.stringify(problem));
      assert.equal(problem['code'], code);
      assert.ok(elapsedMs < WORST_CASE_MS, `answered in ${elapsedMs} ms`);
      assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'the gateway itself stays alive');
    });
  }

  // The model never answered, so it is not known warm: a silent upstream is indistinguishable
  // from SageMaker holding the call while it loads the model, hence MODEL_NOT_READY (503).
  it('honours a caller deadline shorter than the upstream timeout', async () => {
    const startedAt = Date.now();
    const response = await fetch(`${gateways['silent']!.url}/models/churn/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-request-timeout-ms': '200' },
      body: '1,2,3',
    });
    const elapsedMs = Date.now() - startedAt;
    const problem = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 503);
    assert.equal(problem['code'], 'MODEL_NOT_READY');
    assert.equal(problem['deadline'], 'caller');
    assert.ok(elapsedMs < 1_000, `answered in ${elapsedMs} ms`);
  });
});
