/**
 * A real Prometheus server scrapes the real gateway after cold and warm calls and reads both
 * series back with the right counts; `promtool check metrics` finds nothing to complain about
 * in the exposition.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';

const WARM_CALLS = 7;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function poll<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('real Prometheus scraping the gateway', () => {
  let gateway: RunningGateway;
  let prometheus: ChildProcess;
  let prometheusUrl: string;

  before(async () => {
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '300' });
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    const target = new URL(gateway.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: mme-gateway\n    static_configs: [{ targets: ['${target}'] }]\n`,
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: 'ignore' });
  });
  after(async () => {
    prometheus?.kill('SIGKILL');
    await gateway?.stop();
  });

  const predict = async (model: string, body: string) => {
    const response = await fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
    await response.text();
    return response.headers.get('x-model-start');
  };

  it('passes promtool check metrics', async () => {
    await predict('house-prices', '1200,3,2,15,1');
    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    const check = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk));
    check.stderr.on('data', (chunk: Buffer) => (output += chunk));
    check.stdin.end(exposition);
    const code = await new Promise<number | null>((resolve) => check.on('close', resolve));
    assert.equal(code, 0, output);
    assert.equal(output.trim(), '', `promtool complains:\n${output}`);
  });

  it('reads back the cold and warm series with the right counts', async () => {
    assert.equal(await predict('churn', '12,70.5,3,1,0,1'), 'cold');
    for (let i = 0; i < WARM_CALLS; i++) assert.equal(await predict('churn', '12,70.5,3,1,0,1'), 'warm');
    assert.equal(await predict('iris', '5.1,3.5,1.4,0.2'), 'cold');

    const query = encodeURIComponent('sum by (model, start) (mme_gateway_invocation_duration_seconds_count{outcome="success"})');
    const series = await poll('both series in Prometheus', async () => {
      const body = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${query}`)).json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      const counts = Object.fromEntries(body.data.result.map((r) => [`${r.metric['model']}/${r.metric['start']}`, Number(r.value[1])]));
      return counts['churn/warm'] === WARM_CALLS && counts['iris/cold'] === 1 ? counts : undefined;
    });
    assert.equal(series['churn/cold'], 1);
    assert.equal(series['churn/warm'], WARM_CALLS);
    assert.equal(series['iris/cold'], 1);
    assert.equal(series['iris/warm'], undefined);
  });
});
