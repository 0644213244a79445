/**
 * The benchmark's eviction scenario: steady traffic to one large model while other models keep
 * pushing it out of the local MME's memory, so the upstream reloads it without announcing it
 * (the ready wait is above the load time: no ModelNotReadyException, as on SageMaker when a
 * reload finishes inside 60 s). Shows whether the cold/warm split stays honest under load: the
 * warm p99 next to the model's warm baseline, the reloads labelled cold by reason, and what the
 * warm p99 would be if those reloads were counted as warm.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startGateway } from '../helpers/gateway-process.js';
import { writeLargeModel } from '../helpers/model-archives.js';
import { startServer } from './processes.js';

const ROW = '12,70.5,3,1,0,1';
const LOAD_DELAY_MS = 2_000;

interface Sample {
  ms: number;
  label: string;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function post(url: string): Promise<{ status: number; start: string | null }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: ROW });
  await response.arrayBuffer();
  return { status: response.status, start: response.headers.get('x-model-start') };
}

/** Two runs side by side: the same steady traffic without evictions, then with one every 4 s. */
export async function evictionUnderLoad() {
  return [await steadyTraffic(0), await steadyTraffic(4_000)];
}

async function steadyTraffic(
  evictEveryMs: number,
  seconds = Number(process.env['BENCH_EVICT_SECONDS'] ?? 20),
  rate = Number(process.env['BENCH_EVICT_RATE'] ?? 50),
) {
  const modelDir = mkdtempSync(join(tmpdir(), 'bench-evict-'));
  for (const name of ['big-a', 'big-b', 'big-c']) await writeLargeModel(modelDir, name, 700 * 1024);
  // The local MME in its own process, as SageMaker is remote: its model parsing must not stall
  // the gateway's event loop and show up as gateway latency.
  const upstream = await startGateway(
    {
      LOCAL_MME_MODEL_DIR: modelDir,
      LOCAL_MME_MEMORY_MB: '1', // one large model fits: loading another unloads big-a
      LOCAL_MME_LOAD_DELAY_MS: String(LOAD_DELAY_MS),
    },
    { entry: 'dist/local-mme/main.js', listeningMessage: 'local MME listening' },
  );
  const gateway = await startServer('gateway', 'dist/main.js', {
    LOCAL_MME: 'off',
    SAGEMAKER_ENDPOINT_NAME: 'local-mme',
    SAGEMAKER_RUNTIME_URL: upstream.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    LOG_LEVEL: 'info', // the 'listening' line startServer waits for
  }).catch(async (error: unknown) => {
    await upstream.stop();
    throw error;
  });
  try {
    const hot = `${gateway.url}/models/big-a/predict`;
    while ((await post(hot)).status !== 200); // first load out of the way
    for (let i = 0; i < 200; i++) await post(hot); // a warm baseline and a warm process

    const samples: Sample[] = [];
    const pending: Array<Promise<void>> = [];
    const endAt = performance.now() + seconds * 1000;
    // Every `evictEveryMs` another large model is called once, and the upstream unloads big-a to fit it.
    let evictions = 0;
    const evictor = setInterval(() => {
      if (evictEveryMs === 0) return;
      evictions++;
      void post(`${gateway.url}/models/${evictions % 2 ? 'big-b' : 'big-c'}/predict`);
    }, evictEveryMs || 1_000);
    // Open loop: requests leave at a fixed rate whatever the answers, as independent callers do.
    while (performance.now() < endAt) {
      const sentAt = performance.now();
      pending.push(
        post(hot).then((answer) => {
          samples.push({ ms: performance.now() - sentAt, label: answer.status === 200 ? (answer.start ?? '?') : `status ${answer.status}` });
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
    }
    clearInterval(evictor);
    await Promise.all(pending);

    const report = (await (await fetch(`${gateway.url}/models/big-a`)).json()) as { warmBaselineMs: number | null };
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const coldByReason: Record<string, number> = Object.fromEntries(
      [...metrics.matchAll(/^mme_gateway_cold_starts_total\{[^}]*model="big-a"[^}]*reason="([a-z_]+)"[^}]*\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const warm = samples.filter((s) => s.label === 'warm').map((s) => s.ms);
    const cold = samples.filter((s) => s.label === 'cold').map((s) => s.ms);
    const all = samples.filter((s) => s.label === 'warm' || s.label === 'cold').map((s) => s.ms);
    return {
      run: evictEveryMs ? `evict every ${evictEveryMs / 1000} s` : 'no evictions',
      'requests to big-a': samples.length,
      'rate /s': rate,
      'evicting calls': evictions,
      'load delay ms': LOAD_DELAY_MS,
      'warm baseline ms (gateway)': report.warmBaselineMs,
      'warm n': warm.length,
      'warm p50 ms': Number(percentile(warm, 50).toFixed(1)),
      'warm p99 ms': Number(percentile(warm, 99).toFixed(1)),
      'warm max ms': Math.round(Math.max(...warm)),
      'warm > 50 ms': warm.filter((ms) => ms > 50).length,
      'cold n': cold.length,
      'cold p50 ms': Math.round(percentile(cold, 50)),
      'cold by reason (counter)': JSON.stringify(coldByReason),
      'p99 if reloads counted warm ms': Math.round(percentile(all, 99)),
      failures: samples.filter((s) => s.label.startsWith('status')).length,
    };
  } finally {
    await Promise.all([gateway.stop(), upstream.stop()]);
  }
}
