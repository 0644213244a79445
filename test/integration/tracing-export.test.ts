/**
 * Span export never costs a prediction: with the collector stuck or down, every prediction
 * still succeeds while spans are dropped (and the drop is logged); a graceful shutdown flushes
 * what is queued; and with tracing off the process loads no OpenTelemetry SDK module at all,
 * so no exporter, batch timer or propagation step exists.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, repoRoot, startGateway } from '../helpers/gateway-process.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { freePort } from '../helpers/ports.js';

const PROBE = `${repoRoot}test/helpers/process-probe.ts`;
const CHURN_ROW = '12,70.5,3,1,0,1';

const predict = (gateway: RunningGateway, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: CHURN_ROW });

async function predictMany(gateway: RunningGateway, count: number, concurrency = 8): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const response = await predict(gateway);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
    }),
  );
  return statuses;
}

/** Asks the process (preloaded with process-probe.ts) what it has loaded and what keeps it alive. */
async function probe(gateway: RunningGateway): Promise<{ openTelemetryModules: string[]; activeResources: string[] }> {
  gateway.process.kill('SIGUSR2');
  const line = await gateway.waitForLog((l) => l['message'] === 'process probe');
  return line as unknown as { openTelemetryModules: string[]; activeResources: string[] };
}

describe('span export never costs a prediction', () => {
  const gateways: RunningGateway[] = [];
  const receivers: OtlpReceiver[] = [];
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('keeps answering while the collector holds every export unanswered, and drops spans instead of queueing them', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    receiver.mode = 'hang';
    const gateway = await startGateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      OTEL_BSP_SCHEDULE_DELAY: '10',
      OTEL_BSP_MAX_QUEUE_SIZE: '8',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4',
      LOCAL_MME_LOAD_DELAY_MS: '0',
    });
    gateways.push(gateway);
    assert.equal((await predict(gateway)).status, 200);
    await eventually('an export the collector holds', () => (receiver.exports > 0 ? true : undefined));

    // 100 predictions (200+ spans) against a queue of 8 while the first export hangs.
    const statuses = await predictMany(gateway, 100);
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.equal(statuses.length, 100);
    assert.equal(receiver.spans.length, 0, 'the collector accepted nothing: all 100 were answered while an export was stuck');

    // The processor says what it dropped once it has room again (after the export times out).
    const dropped = await eventually('the dropped-spans warning', () => {
      void predict(gateway).then((response) => response.arrayBuffer(), () => undefined);
      return gateway.logs.find((line) => line['component'] === 'tracing' && /Dropped \d+ spans/.test(String(line['message'])));
    });
    assert.equal(dropped['level'], 'warn');
  });

  it('keeps answering when the collector is down', async () => {
    const gateway = await startGateway({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      OTEL_BSP_SCHEDULE_DELAY: '10',
      LOCAL_MME_LOAD_DELAY_MS: '0',
    });
    gateways.push(gateway);
    const statuses = await predictMany(gateway, 100);
    assert.deepEqual([...new Set(statuses)], [200]);
    const failure = await eventually('the export failure in the log', () =>
      gateway.logs.find((line) => line['component'] === 'tracing' && /ECONNREFUSED/.test(String(line['message']))),
    );
    assert.equal(failure['level'], 'warn');
    assert.equal(gateway.logs.filter((line) => line['component'] === 'tracing').length, 1, 'repeats of one failure are folded into one line');
  });

  it('exports the queued spans on a graceful shutdown', async () => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    const gateway = await startGateway(
      // No scheduled export within the test: only the shutdown flush can deliver the spans.
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000', LOCAL_MME_LOAD_DELAY_MS: '0' },
      { preload: PROBE },
    );
    gateways.push(gateway);
    const response = await predict(gateway);
    assert.equal(response.status, 200);
    const traceId = response.headers.get('traceparent')!.split('-')[1];

    // Tracing on: the SDK and its exporter are loaded (the control for the test below).
    const loaded = await probe(gateway);
    assert.ok(loaded.openTelemetryModules.some((path) => path.includes('@opentelemetry/exporter-trace-otlp-http')));
    assert.equal(receiver.exports, 0);

    assert.equal(await gateway.stop('SIGTERM'), 0);
    assert.ok(receiver.spans.some((span) => span.traceId === traceId && span.kind === 2), 'the server span arrived before exit');
  });

  it('with tracing off, loads no OpenTelemetry SDK: no exporter, no timer, no trace headers', async () => {
    const gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '0' }, { preload: PROBE });
    gateways.push(gateway);
    const response = await predict(gateway, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('traceparent'), null);
    const metrics = await fetch(`${gateway.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, 'no exemplars to show: the text format');
    await metrics.text();

    const state = await probe(gateway);
    // prom-client itself loads the OpenTelemetry API (a no-op without an SDK: no timer, no I/O);
    // nothing else of OpenTelemetry may be there.
    const beyondApi = state.openTelemetryModules.filter((path) => !path.includes('/@opentelemetry/api/'));
    assert.deepEqual(beyondApi, [], 'no OpenTelemetry SDK, exporter or propagator is loaded');
    const line = await gateway.waitForLog((l) => l['message'] === 'request' && l['requestId'] === response.headers.get('x-request-id'));
    assert.ok(!('trace_id' in line));
  });
});
