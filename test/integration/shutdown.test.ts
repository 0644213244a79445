/**
 * Graceful shutdown of the real gateway process: SIGTERM turns /readyz 503 at once, an
 * in-flight request waiting on a cold model still completes, new connections are refused
 * after the grace, and the process exits 0; the drain timeout and a second SIGTERM end it
 * promptly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startGateway } from '../helpers/gateway-process.js';

const LOAD_DELAY_MS = 1_500;
const GRACE_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const predict = (url: string, model = 'churn') =>
  fetch(`${url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });

describe('graceful shutdown', () => {
  it('finishes an in-flight cold request while draining, then exits 0', async () => {
    const gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      DRAIN_TIMEOUT_MS: '10000',
    });
    const sentAt = Date.now();
    const inFlight = predict(gateway.url);
    await sleep(200);
    gateway.process.kill('SIGTERM');
    await sleep(50);
    const readiness = await fetch(`${gateway.url}/readyz`);
    assert.equal(readiness.status, 503, 'not ready as soon as draining starts');
    assert.equal(readiness.headers.get('connection'), 'close');

    await sleep(GRACE_MS + 200);
    await assert.rejects(fetch(`${gateway.url}/healthz`), 'new connections are refused after the grace');

    const response = await inFlight;
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-model-start'), 'cold');
    assert.ok(Number(await response.text()) > 0);
    assert.ok(Date.now() - sentAt >= LOAD_DELAY_MS);
    assert.equal(await gateway.exited, 0);
    assert.ok(gateway.logs.some((line) => line['message'] === 'shutdown: complete' && line['drained'] === true));
  });

  it('ends at the drain timeout, and at once on a second SIGTERM', async () => {
    const [timed, twice] = await Promise.all([
      startGateway({ LOCAL_MME_LOAD_DELAY_MS: '0', LOCAL_MME_FAULTS: '{"hang":true}', SHUTDOWN_GRACE_MS: '0', DRAIN_TIMEOUT_MS: '500' }),
      startGateway({ LOCAL_MME_LOAD_DELAY_MS: '0', LOCAL_MME_FAULTS: '{"hang":true}', SHUTDOWN_GRACE_MS: '0', DRAIN_TIMEOUT_MS: '60000' }),
    ]);
    const hung = [predict(timed.url).catch(() => 'closed'), predict(twice.url).catch(() => 'closed')];
    await sleep(200);

    let stoppedAt = Date.now();
    timed.process.kill('SIGTERM');
    assert.equal(await timed.exited, 1, 'exit 1: requests were cut at the drain timeout');
    assert.ok(Date.now() - stoppedAt < 2_500, `drain timeout honoured (${Date.now() - stoppedAt} ms)`);

    twice.process.kill('SIGTERM');
    await sleep(100);
    stoppedAt = Date.now();
    twice.process.kill('SIGTERM');
    assert.equal(await twice.exited, 1);
    assert.ok(Date.now() - stoppedAt < 1_000, 'the second signal ends it promptly');
    await Promise.all(hung);
  });
});
