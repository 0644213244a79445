/**
 * Open-loop fixed-rate load for latency rounds: sends requests on a fixed schedule (not
 * when the previous one returns, which would hide queueing) and reports latency
 * percentiles in microseconds. Runs as its own process; prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const [url = '', rateText = '500', secondsText = '5', headersJson = '{}', path = '/models/churn/predict'] = process.argv.slice(2);
const extraHeaders = JSON.parse(headersJson) as Record<string, string>;
const rate = Number(rateText);
const total = Math.round(rate * Number(secondsText));
const pool = new Pool(url, { connections: 64 });
const latencies: number[] = [];
let failures = 0;

async function one(): Promise<void> {
  const startedAt = performance.now();
  try {
    const response = await pool.request({ method: 'POST', path, headers: { 'content-type': 'text/csv', ...extraHeaders }, body: '12,70.5,3,1,0,1' });
    await response.body.arrayBuffer();
    if (response.statusCode !== 200) failures++;
  } catch {
    failures++;
  }
  latencies.push((performance.now() - startedAt) * 1000);
}

const interval = 1000 / rate;
const startedAt = performance.now();
const inflight: Array<Promise<void>> = [];
for (let i = 0; i < total; i++) {
  const due = startedAt + i * interval;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
  inflight.push(one());
}
await Promise.all(inflight);
await pool.close();
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(`${JSON.stringify({ requests: latencies.length, failures, p50Us: at(0.5), p95Us: at(0.95), p99Us: at(0.99) })}\n`);
