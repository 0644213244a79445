/**
 * With tracing on, a real Prometheus (exemplar storage on) scrapes the gateway in OpenMetrics
 * and stores trace-id exemplars on mme_gateway_invocation_duration_seconds that point at traces
 * the collector really received; the metric names are the same as in the text format, which
 * stays the default and stays promtool-clean.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { eventually } from '../helpers/eventually.js';
import { type PromResponse, type RunningPrometheus, SCRAPE_WAIT, promtoolCheckMetrics, startPrometheus, targetUp } from '../helpers/prometheus.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const COLD_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
}

describe('trace exemplars on the latency histograms, scraped by a real Prometheus', () => {
  let receiver: OtlpReceiver;
  let gateway: RunningGateway;
  let prometheus: RunningPrometheus | undefined;

  before(async () => {
    receiver = await startOtlpReceiver();
    // A 300 ms simulated load is above a 200 ms first-call threshold, so the first call is cold by evidence.
    gateway = await startGateway({
      ...receiver.exportEnv,
      LOCAL_MME_LOAD_DELAY_MS: '300',
      COLD_FIRST_CALL_MS: '200',
    });
    // Prometheus 2.x keeps exemplars only with this feature flag (it then asks for OpenMetrics).
    prometheus = await startPrometheus(gateway.url, ['--enable-feature=exemplar-storage']);
  });
  after(async () => {
    await prometheus?.stop();
    await gateway?.stop();
    await receiver?.close();
  });

  const predict = async (headers: Record<string, string> = {}) => {
    const response = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: CHURN_ROW });
    assert.equal(response.status, 200, await response.text());
    return response.headers.get('x-model-start');
  };

  it('keeps the text format as the default, promtool-clean and without exemplars', async () => {
    assert.equal(await predict({ traceparent: `00-${COLD_TRACE}-00f067aa0ba902b7-01` }), 'cold');
    for (let i = 0; i < 3; i++) assert.equal(await predict(), 'warm');
    const response = await fetch(`${gateway.url}/metrics`);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.ok(!text.includes('trace_id'), 'exemplars appear only in OpenMetrics');
    const { code, output } = await promtoolCheckMetrics(text);
    assert.equal(code, 0, output);
    assert.equal(output.trim(), '', `promtool complains:\n${output}`);
  });

  it('serves OpenMetrics with the trace id on the bucket the cold call fell in, when asked', async () => {
    const response = await fetch(`${gateway.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(response.headers.get('content-type') ?? '', /^application\/openmetrics-text; version=1\.0\.0/);
    const text = await response.text();
    assert.ok(text.endsWith('# EOF\n'));
    const coldBucket = text.split('\n').find((line) => line.startsWith('mme_gateway_invocation_duration_seconds_bucket{') && line.includes('start="cold"') && line.includes(COLD_TRACE));
    assert.ok(coldBucket, 'a cold bucket line carries the exemplar');
    assert.match(coldBucket, new RegExp(`# \\{trace_id="${COLD_TRACE}"\\} [0-9.e-]+ [0-9.]+$`));
    // Counter samples keep their _total names in OpenMetrics.
    assert.match(text, /^mme_gateway_http_requests_total\{/m);
  });

  it('is scraped by Prometheus, which stores the exemplar and links it to a trace the collector has', async () => {
    await targetUp(prometheus!);
    const series = await eventually('the cold exemplar in Prometheus', async () => {
      const now = Date.now() / 1000;
      const query = encodeURIComponent('mme_gateway_invocation_duration_seconds_bucket{model="churn",start="cold"}');
      const response = await fetch(`${prometheus!.url}/api/v1/query_exemplars?query=${query}&start=${now - 600}&end=${now + 60}`);
      const body = (await response.json()) as PromResponse<ExemplarSeries[]>;
      assert.equal(body.status, 'success');
      return body.data.find((s) => s.exemplars.some((e) => e.labels['trace_id'] === COLD_TRACE));
    }, SCRAPE_WAIT);
    assert.equal(series.seriesLabels['__name__'], 'mme_gateway_invocation_duration_seconds_bucket');
    assert.equal(series.seriesLabels['outcome'], 'success');
    const exemplar = series.exemplars.find((e) => e.labels['trace_id'] === COLD_TRACE)!;
    assert.ok(Number(exemplar.value) > 0 && Number(exemplar.value) <= Number(series.seriesLabels['le']));

    // The exemplar points at a trace that exists: the operator's click lands on it.
    await receiver.waitFor('the cold trace', (spans) => spans.some((span) => span.traceId === COLD_TRACE && span.kind === 2));
    // Same metric names as the text format: dashboards and alerts keep working.
    const counts = await eventually('a scrape after the last call', async () => {
      const result = await prometheus!.query('sum by (start) (mme_gateway_invocation_duration_seconds_count{model="churn"})');
      const byStart = Object.fromEntries(result.map((r) => [r.metric['start'], Number(r.value[1])]));
      return byStart['warm'] === 3 ? byStart : undefined;
    }, SCRAPE_WAIT);
    assert.deepEqual(counts, { cold: 1, warm: 3 });
    assert.ok((await prometheus!.query('mme_gateway_upstream_requests_total')).length > 0);
  });
});
