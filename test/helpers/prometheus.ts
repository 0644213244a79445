/**
 * A real Prometheus server (Debian's /usr/bin/prometheus) scraping one target every second,
 * on a free port with its own data directory, for the scrape tests; plus queries and promtool.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';

/** Prometheus scrapes on its own schedule; give it a few intervals. */
export const SCRAPE_WAIT = { timeoutMs: 20_000, intervalMs: 250 };

export interface PromResponse<T> {
  status: string;
  data: T;
}

export interface RunningPrometheus {
  url: string;
  /** Its stderr so far: a port race or a bad config shows up only there. */
  log: string[];
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targetUrl`'s /metrics every second; `flags` are extra command-line flags. */
export async function startPrometheus(targetUrl: string, flags: string[] = []): Promise<RunningPrometheus> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mme-gateway-prometheus-'));
  writeFileSync(
    join(dataDir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s }',
      'scrape_configs:',
      '  - job_name: mme-gateway',
      '    metrics_path: /metrics',
      `    static_configs: [{ targets: ['${new URL(targetUrl).host}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [`--config.file=${join(dataDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dataDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, ...flags],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = once(child, 'exit');
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  return {
    url,
    log,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as PromResponse<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>;
      assert.equal(body.status, 'success');
      return body.data.result;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until Prometheus reports the gateway target up; returns the target. */
export function targetUp(prometheus: RunningPrometheus) {
  return eventually(`the gateway target to be up (prometheus log: ${prometheus.log.join('').slice(-2000)})`, async () => {
    const response = await fetch(`${prometheus.url}/api/v1/targets`);
    const body = (await response.json()) as PromResponse<{ activeTargets: Array<{ labels: Record<string, string>; health: string; scrapeUrl: string }> }>;
    return body.data.activeTargets.find((t) => t.labels['job'] === 'mme-gateway' && t.health === 'up');
  }, SCRAPE_WAIT);
}

/** `promtool check metrics` on an exposition: its exit code and everything it printed. */
export async function promtoolCheckMetrics(exposition: string): Promise<{ code: number | null; output: string }> {
  const check = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  check.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  check.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  check.stdin!.end(exposition);
  const [code] = (await once(check, 'close')) as [number | null];
  return { code, output };
}
