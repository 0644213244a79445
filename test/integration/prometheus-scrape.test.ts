/**
 * A real Prometheus server scrapes the real gateway after cold and warm calls and reads both
 * series back with the right counts; `promtool check metrics` finds nothing to complain about
 * in the exposition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { type RunningPrometheus, SCRAPE_WAIT, promtoolCheckMetrics, startPrometheus, targetUp } from '../helpers/prometheus.js';

const WARM_CALLS = 7;
const CHURN_ROW = '12,70.5,3,1,0,1';
const IRIS_ROW = '5.1,3.5,1.4,0.2';

describe('real Prometheus scraping the gateway', () => {
  let gateway: RunningGateway;
  let prometheus: RunningPrometheus | undefined;

  before(async () => {
    // A 300 ms simulated load is above a 200 ms first-call threshold, so each first call is cold by evidence.
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '300', COLD_FIRST_CALL_MS: '200' });
    prometheus = await startPrometheus(gateway.url);
  });

  after(async () => {
    await prometheus?.stop();
    await gateway?.stop();
  });

  const predict = async (model: string, body: string) => {
    const response = await fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
    const text = await response.text();
    assert.equal(response.status, 200, `${model}: ${text}`);
    return response.headers.get('x-model-start');
  };

  const query = (promql: string) => prometheus!.query(promql);

  it('serves an exposition that promtool check metrics accepts without complaint', async () => {
    assert.equal(await predict('churn', CHURN_ROW), 'cold');
    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    // Guard against checking an empty exposition: the cold call must be in it.
    assert.equal(metricValue(exposition, 'mme_gateway_invocation_duration_seconds_count', { model: 'churn', start: 'cold' }), 1);
    const { code, output } = await promtoolCheckMetrics(exposition);
    assert.equal(code, 0, output);
    assert.equal(output.trim(), '', `promtool complains:\n${output}`);
  });

  it('scrapes the gateway and reads back 1 cold and N warm calls', async () => {
    for (let i = 0; i < WARM_CALLS; i++) assert.equal(await predict('churn', CHURN_ROW), 'warm');
    assert.equal(await predict('iris', IRIS_ROW), 'cold');

    const target = await targetUp(prometheus!);
    assert.equal(target.scrapeUrl, `${gateway.url}/metrics`);

    // Wait for a scrape taken after the last call; the counts must then be exact, not "at least".
    const churn = await eventually('churn cold/warm series', async () => {
      const result = await query('sum by (start) (mme_gateway_invocation_duration_seconds_count{model="churn"})');
      const counts = Object.fromEntries(result.map((r) => [r.metric['start'], Number(r.value[1])]));
      return counts['warm'] === WARM_CALLS ? counts : undefined;
    }, SCRAPE_WAIT);
    assert.deepEqual(churn, { cold: 1, warm: WARM_CALLS });

    const iris = await eventually('iris series', async () => {
      const result = await query('sum by (start, outcome) (mme_gateway_invocation_duration_seconds_count{model="iris"})');
      return result.length > 0 ? result.map((r) => ({ ...r.metric, count: Number(r.value[1]) })) : undefined;
    }, SCRAPE_WAIT);
    assert.deepEqual(iris, [{ start: 'cold', outcome: 'success', count: 1 }]);

    // The histogram is usable as the dashboard uses it: a warm p99 exists and sits below the cold one.
    const quantile = async (start: string) =>
      Number(
        (await query(`histogram_quantile(0.99, sum by (le) (mme_gateway_invocation_duration_seconds_bucket{model="churn", start="${start}"}))`))[0]
          ?.value[1],
      );
    const [warmP99, coldP99] = [await quantile('warm'), await quantile('cold')];
    assert.ok(warmP99 > 0 && warmP99 < coldP99, `warm p99 ${warmP99} s, cold p99 ${coldP99} s`);
  });
});
