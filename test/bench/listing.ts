/**
 * The listing scenario: 10,000 names served through the gateway (instant upstream), then the
 * size and time of GET /models, and predict latency at a fixed rate alone, next to 16 callers
 * looping on GET /models, and next to 16 callers looping on GET /healthz (what any cheap route
 * costs). BENCH_GATEWAY_ENTRY runs another build of the gateway (e.g. an older commit's
 * src/main.ts) for a before/after comparison.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { repoRoot, startServer } from './processes.js';
import { startGatewayOn } from './scenarios.js';

const run = promisify(execFile);
const NAMES = 10_000;
const LOOPS = 16;

async function sweep(url: string, names: number, concurrency = 64): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < names) {
        const response = await fetch(`${url}/models/model-${next++}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1,2,3' });
        await response.arrayBuffer();
      }
    }),
  );
}

async function timedGet(url: string): Promise<{ ms: number; bytes: number; entries: number }> {
  const startedAt = performance.now();
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());
  const ms = performance.now() - startedAt;
  return { ms, bytes: body.length, entries: (JSON.parse(body.toString()) as { models: unknown[] }).models.length };
}

async function predictLatency(url: string, rate = 200, seconds = 5) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/bench/rate-driver.ts'), url, String(rate), String(seconds)], { cwd: repoRoot });
  const result = JSON.parse(stdout) as { p50Us: number; p95Us: number; p99Us: number; failures: number };
  return { p50Ms: result.p50Us / 1000, p95Ms: result.p95Us / 1000, p99Ms: result.p99Us / 1000, failures: result.failures };
}

/** Runs `loops` callers hammering `path` until `during` settles. */
async function withLoops<T>(url: string, path: string, during: () => Promise<T>): Promise<{ result: T; requests: number }> {
  let stop = false;
  let requests = 0;
  const loops = Array.from({ length: LOOPS }, async () => {
    while (!stop) {
      await (await fetch(`${url}${path}`)).arrayBuffer();
      requests++;
    }
  });
  try {
    return { result: await during(), requests };
  } finally {
    stop = true;
    await Promise.all(loops);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

export async function listingUnderLoad() {
  const upstream = await startServer('upstream', 'test/bench/upstream.ts', {});
  const gateway = await startGatewayOn(upstream.url, process.env['BENCH_GATEWAY_ENTRY']);
  try {
    await sweep(gateway.url, NAMES);
    const sizes = [];
    for (const path of ['/models', '/models?limit=1000']) {
      const samples = [];
      for (let i = 0; i < 20; i++) samples.push(await timedGet(`${gateway.url}${path}`));
      sizes.push({ request: `GET ${path}`, entries: samples[0]!.entries, 'KB': Math.round(samples[0]!.bytes / 1024), 'median ms': Number(median(samples.map((s) => s.ms)).toFixed(2)) });
    }
    const alone = await predictLatency(gateway.url);
    const listing = await withLoops(gateway.url, '/models', () => predictLatency(gateway.url));
    const health = await withLoops(gateway.url, '/healthz', () => predictLatency(gateway.url));
    const latency = [
      { 'predict at 200/s': 'alone', ...round(alone), 'side requests': 0 },
      { 'predict at 200/s': `with ${LOOPS} loops of GET /models`, ...round(listing.result), 'side requests': listing.requests },
      { 'predict at 200/s': `with ${LOOPS} loops of GET /healthz`, ...round(health.result), 'side requests': health.requests },
    ];
    return { sizes, latency };
  } finally {
    await Promise.all([gateway.stop(), upstream.stop()]);
  }
}

function round(result: { p50Ms: number; p95Ms: number; p99Ms: number; failures: number }) {
  return { 'p50 ms': Number(result.p50Ms.toFixed(2)), 'p95 ms': Number(result.p95Ms.toFixed(2)), 'p99 ms': Number(result.p99Ms.toFixed(2)), failures: result.failures };
}
