/**
 * A real Prometheus server scrapes the real gateway after cold and warm calls and reads both
 * series back with the right counts; `promtool check metrics` finds nothing to complain about
 * in the exposition.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listen } from '../../src/server.js';
import { eventually } from '../helpers/eventually.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const WARM_CALLS = 7;
/** Prometheus scrapes on its own schedule; give it a few intervals. */
const SCRAPE_WAIT = { timeoutMs: 20_000, intervalMs: 250 };
const CHURN_ROW = '12,70.5,3,1,0,1';
const IRIS_ROW = '5.1,3.5,1.4,0.2';

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, 0, '127.0.0.1');
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface PromResponse<T> {
  status: string;
  data: T;
}

describe('real Prometheus scraping the gateway', () => {
  let gateway: RunningGateway;
  let prometheus: ChildProcess | undefined;
  let prometheusExited: Promise<unknown> | undefined;
  let prometheusUrl: string;
  let dataDir: string | undefined;
  const prometheusLog: string[] = [];

  before(async () => {
    // A 300 ms simulated load is above a 200 ms first-call threshold, so each first call is cold by evidence.
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '300', COLD_FIRST_CALL_MS: '200' });
    dataDir = mkdtempSync(join(tmpdir(), 'mme-gateway-prometheus-'));
    const target = new URL(gateway.url).host;
    writeFileSync(
      join(dataDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s }',
        'scrape_configs:',
        '  - job_name: mme-gateway',
        '    metrics_path: /metrics',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('/usr/bin/prometheus', [
      `--config.file=${join(dataDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prometheusExited = once(prometheus, 'exit');
    // Kept for the failure message: a port race or a bad config shows up only in its own log.
    prometheus.stderr!.on('data', (chunk: Buffer) => prometheusLog.push(chunk.toString()));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      prometheus.kill('SIGKILL');
      await prometheusExited;
    }
    await gateway?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const predict = async (model: string, body: string) => {
    const response = await fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
    const text = await response.text();
    assert.equal(response.status, 200, `${model}: ${text}`);
    return response.headers.get('x-model-start');
  };

  const query = async (promql: string) => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as PromResponse<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>;
    assert.equal(body.status, 'success');
    return body.data.result;
  };

  it('serves an exposition that promtool check metrics accepts without complaint', async () => {
    assert.equal(await predict('churn', CHURN_ROW), 'cold');
    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    // Guard against checking an empty exposition: the cold call must be in it.
    assert.equal(metricValue(exposition, 'mme_gateway_invocation_duration_seconds_count', { model: 'churn', start: 'cold' }), 1);
    const check = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk));
    check.stderr.on('data', (chunk: Buffer) => (output += chunk));
    check.stdin.end(exposition);
    const [code] = (await once(check, 'close')) as [number | null];
    assert.equal(code, 0, output);
    assert.equal(output.trim(), '', `promtool complains:\n${output}`);
  });

  it('scrapes the gateway and reads back 1 cold and N warm calls', async () => {
    for (let i = 0; i < WARM_CALLS; i++) assert.equal(await predict('churn', CHURN_ROW), 'warm');
    assert.equal(await predict('iris', IRIS_ROW), 'cold');

    const target = await eventually(`the gateway target to be up (prometheus log: ${prometheusLog.join('').slice(-2000)})`, async () => {
      const response = await fetch(`${prometheusUrl}/api/v1/targets`);
      const body = (await response.json()) as PromResponse<{ activeTargets: Array<{ labels: Record<string, string>; health: string; scrapeUrl: string }> }>;
      return body.data.activeTargets.find((t) => t.labels['job'] === 'mme-gateway' && t.health === 'up');
    }, SCRAPE_WAIT);
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
