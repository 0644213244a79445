/** The benchmark's cold-burst and many-models scenarios. */
import { performance } from 'node:perf_hooks';
import { metricValue } from '../helpers/gateway-process.js';
import { rssBytes, startServer } from './processes.js';
import { gatewayEnv } from './gateway-env.js';

const CHURN_ROW = '12,70.5,3,1,0,1';

async function post(url: string, body = CHURN_ROW): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
  await response.arrayBuffer();
  return response.status;
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

export async function coldBurst(callers = Number(process.env['BENCH_COLD_CALLERS'] ?? 50)) {
  const loadDelayMs = 2_000;
  const scenarios = [
    { name: 'SageMaker-like ready wait (60 s)', readyWaitMs: 60_000 },
    { name: 'ready wait 500 ms < load', readyWaitMs: 500 },
  ];
  const rows = [];
  for (const scenario of scenarios) {
    const gateway = await startServer('gateway', 'dist/main.js', {
      LOCAL_MME: 'on',
      LOCAL_MME_PORT: '0',
      LOCAL_MME_LOAD_DELAY_MS: String(loadDelayMs),
      LOCAL_MME_READY_WAIT_MS: String(scenario.readyWaitMs),
      LOG_LEVEL: 'info',
    });
    try {
      // A serving gateway is already warm (JIT, sockets): load another model first so the burst
      // measures the cold model, not the process's first requests.
      while ((await post(`${gateway.url}/models/iris/predict`, '5.1,3.5,1.4,0.2')) !== 200);
      for (let i = 0; i < 200; i++) await post(`${gateway.url}/models/iris/predict`, '5.1,3.5,1.4,0.2');
      const startedAt = performance.now();
      const statuses = await Promise.all(Array.from({ length: callers }, () => post(`${gateway.url}/models/churn/predict`)));
      const lastAnswerMs = performance.now() - startedAt;
      const upstream = metricValue(await metrics(gateway.url), 'mme_gateway_upstream_requests_total', { model: 'churn' });
      rows.push({
        scenario: scenario.name,
        callers,
        ok: statuses.filter((s) => s === 200).length,
        'upstream req': upstream,
        'upstream/caller': Number((upstream / callers).toFixed(2)),
        'load delay ms': loadDelayMs,
        'last answer ms': Math.round(lastAnswerMs),
        'last / load': Number((lastAnswerMs / loadDelayMs).toFixed(3)),
      });
    } finally {
      await gateway.stop();
    }
  }
  return rows;
}

/** `total` requests from `concurrency` callers; returns the number of non-200 answers. */
async function sweep(concurrency: number, total: number, urlFor: (i: number) => string): Promise<number> {
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) if ((await post(urlFor(next++))) !== 200) failures++;
    }),
  );
  return failures;
}

/** A gateway (this build, or `entry`) in front of the instant benchmark upstream. */
export function startGatewayOn(upstreamUrl: string, entry = 'dist/main.js') {
  return startServer('gateway', entry, gatewayEnv(upstreamUrl, { apiKeys: false }));
}

export async function manyModels(names = 10_000, concurrency = 64) {
  const upstream = await startServer('upstream', 'test/bench/upstream.ts', {});
  const gateway = await startGatewayOn(upstream.url);
  try {
    // Settle the heap, JIT and connection pools on one model with the same concurrency first,
    // so growth measures the names, not start-up or the number of open sockets.
    await sweep(concurrency, 5_000, () => `${gateway.url}/models/churn/predict`);
    const before = { rss: rssBytes(gateway.pid), text: await metrics(gateway.url) };
    const failures = await sweep(concurrency, names, (i) => `${gateway.url}/models/model-${i}/predict`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = { rss: rssBytes(gateway.pid), text: await metrics(gateway.url) };
    const handles = (text: string) => metricValue(text, 'nodejs_active_handles');
    return {
      names,
      failures,
      'RSS before MB': Math.round(before.rss / 1048576),
      'RSS after MB': Math.round(after.rss / 1048576),
      'RSS growth MB': Number(((after.rss - before.rss) / 1048576).toFixed(1)),
      'heap used before MB': Math.round(metricValue(before.text, 'nodejs_heap_size_used_bytes') / 1048576),
      'heap used after MB': Math.round(metricValue(after.text, 'nodejs_heap_size_used_bytes') / 1048576),
      'handles before': handles(before.text),
      'handles after': handles(after.text),
      'model breakers live': metricValue(after.text, 'mme_gateway_breakers_live'),
      'model label values': new Set([...after.text.matchAll(/mme_gateway_upstream_requests_total\{model="([^"]*)"/g)].map((m) => m[1])).size,
    };
  } finally {
    await Promise.all([gateway.stop(), upstream.stop()]);
  }
}
