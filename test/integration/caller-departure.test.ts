/**
 * Acceptance for callers who leave, on the real gateway and its embedded local MME: a departed
 * caller's place in the cold queue is freed at once and it sends nothing upstream; the probe's
 * caller leaving hands the probe role over (one load, everyone else served); a caller leaving
 * mid-attempt aborts the upstream call, which the local MME sees as its connection closing, on
 * both transports and both prediction routes. Counted in metrics and the access log (499).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { eventually } from '../helpers/eventually.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const LOAD_DELAY_MS = 3_000;
const MODELS = ['herd', 'handover', 'answers-slowly'];

interface MmeStats {
  loading: string[];
  models: Record<string, { loads: number; invocations: number }>;
  closedBeforeAnswer: Record<string, number>;
}

function client(gateway: RunningGateway) {
  return {
    /** A prediction whose caller hangs up when `leave` aborts; resolves with the status or 'left'. */
    predict(model: string, leave?: AbortSignal) {
      const startedAt = Date.now();
      return fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: CHURN_ROW, signal: leave ?? null })
        .then(async (response) => ({ status: response.status, body: await response.text(), start: response.headers.get('x-model-start'), ms: Date.now() - startedAt }))
        .catch((error: unknown) => {
          if (leave?.aborted) return { status: 'left' as const, body: '', start: null, ms: Date.now() - startedAt };
          throw error;
        });
    },
    wire(model: string, leave: AbortSignal) {
      return fetch(`${gateway.url}/endpoints/local-mme/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', 'x-amzn-sagemaker-target-model': `${model}.tar.gz` },
        body: CHURN_ROW,
        signal: leave,
      }).catch(() => 'left' as const);
    },
    async waiting(model: string) {
      return Number(((await (await fetch(`${gateway.url}/models/${model}`)).json()) as { waiting: number }).waiting);
    },
    async metric(name: string, labels: Record<string, string>) {
      return metricValue(await (await fetch(`${gateway.url}/metrics`)).text(), name, labels);
    },
    async mme(): Promise<MmeStats> {
      return (await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as MmeStats;
    },
    departures(model: string) {
      return gateway.logs.filter((line) => line['message'] === 'request' && line['model'] === model && line['status'] === 499);
    },
  };
}

describe('callers who leave', () => {
  let lean: RunningGateway;
  let sdk: RunningGateway;

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'departure-models-'));
    for (const name of MODELS) copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `${name}.tar.gz`));
    const env = {
      LOCAL_MME_MODEL_DIR: modelDir,
      LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS),
      LOCAL_MME_FAULTS: JSON.stringify({ models: { 'answers-slowly.tar.gz': { loadDelayMs: 0 } } }),
      COLD_QUEUE_MAX: '10',
    };
    [lean, sdk] = await Promise.all([startGateway(env), startGateway({ ...env, UPSTREAM_TRANSPORT: 'sdk' })]);
  });
  after(async () => {
    await Promise.all([lean?.stop(), sdk?.stop()]);
  });

  it('frees the queue at once when 15 callers of a cold model hang up, and sends nothing for the waiters', async () => {
    const c = client(lean);
    const leave = new AbortController();
    const ghosts = Array.from({ length: 15 }, () => c.predict('herd', leave.signal));
    await eventually('10 waiters queued behind the probe', async () => (await c.waiting('herd')) === 10);
    await new Promise((resolve) => setTimeout(resolve, 1_000 - 100)); // the callers' own 1 s patience
    leave.abort();
    const answered = await Promise.all(ghosts);
    const refused = answered.filter((r) => r.status === 503 && JSON.parse(r.body).code === 'QUEUE_FULL');
    assert.equal(refused.length, 4, 'beyond the probe and 10 waiters, callers were refused while the queue was full');
    assert.equal(answered.filter((r) => r.status === 'left').length, 11);

    const abortedAt = Date.now();
    await eventually('the queue to empty', async () => (await c.waiting('herd')) === 0, { timeoutMs: 500 });
    const emptiedMs = Date.now() - abortedAt;
    assert.ok((await c.mme()).loading.includes('herd.tar.gz'), 'the load is still going on upstream');

    // Live callers arriving during the load are queued, not refused, and served by the same load.
    const live = await Promise.all(Array.from({ length: 3 }, () => c.predict('herd')));
    for (const r of live) {
      assert.equal(r.status, 200, r.body);
      assert.equal(r.start, 'cold');
    }
    const mme = await c.mme();
    assert.equal(mme.models['herd.tar.gz']?.loads, 1);
    const upstreamTotal = await c.metric('mme_gateway_upstream_requests_total', { model: 'herd' });
    const upstreamAbandoned = await c.metric('mme_gateway_upstream_requests_total', { model: 'herd', outcome: 'abandoned' });
    const waitsAbandoned = await c.metric('mme_gateway_cold_queue_wait_seconds_count', { result: 'abandoned' });
    assert.equal(mme.models['herd.tar.gz']?.invocations, upstreamTotal, 'the gateway counts every call the MME received');
    assert.equal(upstreamTotal, upstreamAbandoned + 3, "the departed probes' attempts plus one per live caller");
    assert.ok(upstreamAbandoned >= 1 && waitsAbandoned + upstreamAbandoned <= 11, `abandoned: ${upstreamAbandoned} attempts, ${waitsAbandoned} waits`);
    assert.equal(mme.closedBeforeAnswer['herd.tar.gz'], upstreamAbandoned, 'every aborted attempt closed its connection upstream');
    assert.equal(await c.metric('mme_gateway_invocation_duration_seconds_count', { model: 'herd', outcome: 'abandoned' }), 11);

    await eventually('11 access lines', () => c.departures('herd').length === 11);
    const lines = c.departures('herd');
    assert.ok(lines.every((line) => line['code'] === 'CLIENT_CLOSED_REQUEST'));
    assert.equal(lines.filter((line) => line['sentUpstream'] === true).length, upstreamAbandoned);
    assert.equal(lines.filter((line) => line['sentUpstream'] === false).length, 11 - upstreamAbandoned);
    console.log(`# herd: queue empty ${emptiedMs} ms after the hang-up; upstream calls ${upstreamTotal} = ${upstreamAbandoned} aborted + 3 live; abandoned waits ${waitsAbandoned}`);
  });

  it("hands the probe role over when the probe's caller leaves: the others are served by one load", async () => {
    const c = client(lean);
    const leave = new AbortController();
    const probe = c.predict('handover', leave.signal);
    await eventually('the probe to reach the local MME', async () => (await c.mme()).loading.includes('handover.tar.gz'));
    const others = Array.from({ length: 3 }, () => c.predict('handover'));
    await eventually('3 waiters', async () => (await c.waiting('handover')) === 3);
    leave.abort();
    assert.equal((await probe).status, 'left');
    await eventually('a waiter to become the probe', async () => (await c.waiting('handover')) === 2, { timeoutMs: 500 });
    for (const r of await Promise.all(others)) assert.equal(r.status, 200, r.body);

    const mme = await c.mme();
    assert.equal(mme.models['handover.tar.gz']?.loads, 1, 'one load');
    assert.equal(mme.models['handover.tar.gz']?.invocations, 4, 'the departed probe, the new probe, two released waiters');
    assert.equal(mme.closedBeforeAnswer['handover.tar.gz'], 1, "the departed probe's call was aborted");
    assert.equal(await c.metric('mme_gateway_upstream_requests_total', { model: 'handover', outcome: 'abandoned' }), 1);
    const [line] = await eventually('the probe access line', () => c.departures('handover').length === 1 && c.departures('handover'));
    assert.equal(line?.['sentUpstream'], true);
    assert.equal(line?.['upstreamAborted'], true);
  });

  for (const transport of ['lean', 'sdk'] as const) {
    it(`aborts the upstream call of a caller who leaves mid-attempt on a warm model (${transport} transport, both routes)`, async () => {
      const gateway = transport === 'lean' ? lean : sdk;
      const c = client(gateway);
      assert.equal((await c.predict('answers-slowly')).status, 200); // loads at once: warm from here
      const put = await fetch(`${gateway.localMmeUrl}/_local/faults`, { method: 'PUT', body: JSON.stringify({ models: { 'answers-slowly.tar.gz': { loadDelayMs: 0, latencyMs: 10_000 } } }) });
      assert.equal(put.status, 200);
      for (const [route, send] of [
        ['REST', (signal: AbortSignal) => c.predict('answers-slowly', signal)],
        ['wire', (signal: AbortSignal) => c.wire('answers-slowly', signal)],
      ] as const) {
        const before = (await c.mme()).closedBeforeAnswer['answers-slowly.tar.gz'] ?? 0;
        const leave = new AbortController();
        const pending = send(leave.signal);
        await eventually('the attempt to be in flight', async () => (await c.metric('mme_gateway_inflight_requests', {})) >= 1);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const leftAt = Date.now();
        leave.abort();
        await pending;
        await eventually(`the local MME to see the ${route} call's connection close`, async () => ((await c.mme()).closedBeforeAnswer['answers-slowly.tar.gz'] ?? 0) === before + 1, { timeoutMs: 2_000 });
        console.log(`# ${transport} ${route}: upstream connection closed ${Date.now() - leftAt} ms after the caller left (the model would have answered after 10 s)`);
      }
      assert.equal(await c.metric('mme_gateway_upstream_requests_total', { model: 'answers-slowly', outcome: 'abandoned' }), 2);
      assert.equal(await c.metric('mme_gateway_upstream_requests_total', { model: 'answers-slowly', outcome: 'timeout' }), 0, 'not counted as timeouts');
      const lines = await eventually('2 access lines', () => c.departures('answers-slowly').length === 2 && c.departures('answers-slowly'));
      assert.ok(lines.every((line) => line['sentUpstream'] === true && line['upstreamAborted'] === true && line['start'] === 'warm'));
    });
  }
});
