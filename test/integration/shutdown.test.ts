/**
 * Graceful shutdown of the real gateway process: SIGTERM turns /readyz 503 at once, an
 * in-flight request waiting on a cold model still completes, new connections are refused
 * after the grace, and the process exits 0; the drain timeout and a second SIGTERM end it
 * promptly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const LOAD_DELAY_MS = 1_500;
const GRACE_MS = 300;
const predict = (url: string, model = 'churn') =>
  fetch(`${url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });

/** In flight at the gateway: the in-flight gauge counts them, plus the /metrics request asking. */
const requestsInFlight = (gateway: RunningGateway, count: number) =>
  eventually(`${count} request(s) in flight`, async () => {
    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    return metricValue(exposition, 'mme_gateway_inflight_requests') >= count + 1 || undefined;
  });
/** The gateway has taken the signal: readiness is off from the moment this line is written. */
const drainingStarted = (gateway: RunningGateway) => gateway.waitForLog((line) => line['message'] === 'shutdown: draining');

describe('graceful shutdown', () => {
  it('finishes an in-flight cold request while draining, then exits 0', async () => {
    const gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      DRAIN_TIMEOUT_MS: '10000',
    });
    const sentAt = Date.now();
    // Settled at once, so its outcome is handled even if it fails before the test reads it.
    const inFlight = predict(gateway.url).then(
      (response) => response,
      (error: unknown) => error as Error,
    );
    await requestsInFlight(gateway, 1);
    gateway.process.kill('SIGTERM');
    const drainingAt = Date.parse(String((await drainingStarted(gateway))['timestamp']));
    const readiness = await fetch(`${gateway.url}/readyz`);
    assert.equal(readiness.status, 503, 'not ready as soon as draining starts');
    assert.equal(readiness.headers.get('connection'), 'close');

    // Within the grace, connections are still accepted (answered with Connection: close); then refused.
    const refusedAt = await eventually('new connections to be refused after the grace', () =>
      fetch(`${gateway.url}/healthz`).then(
        () => undefined,
        () => Date.now(),
      ),
    );
    assert.ok(refusedAt - drainingAt >= GRACE_MS, `not before the grace ends (${refusedAt - drainingAt} ms)`);

    const response = await inFlight;
    assert.ok(response instanceof Response, String(response));
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
    await Promise.all([requestsInFlight(timed, 1), requestsInFlight(twice, 1)]);

    let stoppedAt = Date.now();
    timed.process.kill('SIGTERM');
    assert.equal(await timed.exited, 1, 'exit 1: requests were cut at the drain timeout');
    assert.ok(Date.now() - stoppedAt < 2_500, `drain timeout honoured (${Date.now() - stoppedAt} ms)`);

    twice.process.kill('SIGTERM');
    // Two signals sent back to back may be delivered as one: send the second once the first is taken.
    await drainingStarted(twice);
    stoppedAt = Date.now();
    twice.process.kill('SIGTERM');
    assert.equal(await twice.exited, 1);
    assert.ok(Date.now() - stoppedAt < 1_000, 'the second signal ends it promptly');
    await Promise.all(hung);
  });
});
