/**
 * `npm run bench`: the gateway (every feature on), a naive Express + SDK gateway and a bare
 * proxy hop, each in its own process in front of the same instant upstream, driven with the
 * same load from separate processes in alternating rounds. Prints requests/s, p50/p99, CPU µs
 * per request (the server's own CPU time over its requests) and RSS, then the ratios; then
 * the cold-burst and 10,000-model checks. Figures are medians over the rounds.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { drive } from './load.js';
import { type BenchServer, cpuMicros, repoRoot, rssBytes, startServer } from './processes.js';
import { coldBurst, manyModels } from './scenarios.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const LATENCY_RATE = Number(process.env['BENCH_RATE'] ?? 500);
/** Which parts to run: any of warm, cold, many (comma-separated); all by default. */
const PARTS = new Set((process.env['BENCH_PARTS'] ?? 'warm,cold,many').split(','));

interface Round {
  rps: number;
  cpuUsPerRequest: number;
  p50Us: number;
  p99Us: number;
  rssMb: number;
  failures: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function fixedRate(url: string, rate: number, seconds: number) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/bench/rate-driver.ts'), url, String(rate), String(seconds)], { cwd: repoRoot });
  return JSON.parse(stdout) as { requests: number; failures: number; p50Us: number; p99Us: number };
}

async function measure(server: BenchServer): Promise<Round> {
  const cpuBefore = cpuMicros(server.pid);
  const throughput = await drive(server.url, { connections: CONNECTIONS, durationSeconds: SECONDS });
  const cpuUsed = cpuMicros(server.pid) - cpuBefore;
  const latency = await fixedRate(server.url, LATENCY_RATE, SECONDS);
  return {
    rps: throughput.requestsPerSecond,
    cpuUsPerRequest: cpuUsed / Math.max(1, throughput.requests),
    p50Us: latency.p50Us,
    p99Us: latency.p99Us,
    rssMb: rssBytes(server.pid) / 1024 / 1024,
    failures: throughput.non2xx + throughput.errors + latency.failures,
  };
}

async function main(): Promise<void> {
  // The gateway runs compiled, exactly as the container does (node dist/main.js).
  await run('npm', ['run', 'build'], { cwd: repoRoot });
  if (PARTS.has('warm')) await warmPath();
  if (PARTS.has('cold')) {
    console.log('\nCold burst (embedded local MME, one cold model):');
    console.table(await coldBurst());
  }
  if (PARTS.has('many')) {
    console.log('\n10,000 distinct model names through the gateway:');
    console.table([await manyModels()]);
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(repoRoot, 'test/bench/retained-heap.ts')], { cwd: repoRoot });
    const retained = JSON.parse(stdout) as { retainedMb: number; bytesPerName: number };
    console.log(`Heap retained by 10,000 names after full GCs (default caps): ${retained.retainedMb.toFixed(1)} MB, ${retained.bytesPerName} bytes per name`);
  }
}

async function warmPath(): Promise<void> {  const upstream = await startServer('upstream', 'test/bench/upstream.ts', {});
  const awsEnv = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };
  const targets = [
    await startServer('gateway', 'dist/main.js', { ...awsEnv, LOCAL_MME: 'off', SAGEMAKER_ENDPOINT_NAME: 'bench', SAGEMAKER_RUNTIME_URL: upstream.url, LOG_LEVEL: 'info' }),
    await startServer('naive', 'test/bench/naive-gateway.ts', { UPSTREAM_URL: upstream.url }),
    await startServer('floor', 'test/bench/floor-proxy.ts', { UPSTREAM_URL: upstream.url }),
  ];
  const rounds = new Map<string, Round[]>(targets.map((t) => [t.name, []]));
  try {
    for (const target of targets) await drive(target.url, { connections: CONNECTIONS, durationSeconds: 2 }); // JIT warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) rounds.get(target.name)!.push(await measure(target));
    }
  } finally {
    await Promise.all([...targets, upstream].map((t) => t.stop()));
  }

  const summary = targets.map((t) => {
    const rs = rounds.get(t.name)!;
    return {
      target: t.name,
      'req/s': Math.round(median(rs.map((r) => r.rps))),
      [`p50 µs @${LATENCY_RATE}/s`]: Math.round(median(rs.map((r) => r.p50Us))),
      [`p99 µs @${LATENCY_RATE}/s`]: Math.round(median(rs.map((r) => r.p99Us))),
      'CPU µs/req': Math.round(median(rs.map((r) => r.cpuUsPerRequest))),
      'RSS MB': Math.round(median(rs.map((r) => r.rssMb))),
      failures: rs.reduce((sum, r) => sum + r.failures, 0),
    };
  });
  console.log(`\nWarm path: ${ROUNDS} alternating rounds, ${SECONDS} s each, ${CONNECTIONS} connections (throughput, CPU) and ${LATENCY_RATE} req/s open-loop (latency); medians.`);
  console.table(summary);
  const byName = Object.fromEntries(summary.map((s) => [s.target, s]));
  const cpu = (name: string) => Number(byName[name]?.['CPU µs/req']);
  const p99 = (name: string) => Number(byName[name]?.[`p99 µs @${LATENCY_RATE}/s`]);
  console.log(`CPU per request, gateway / naive: ${(cpu('gateway') / cpu('naive')).toFixed(2)}  (target ≤ 0.50)`);
  console.log(`CPU per request, gateway / floor: ${(cpu('gateway') / cpu('floor')).toFixed(2)}`);
  console.log(`p99 added over the floor at ${LATENCY_RATE} req/s: ${((p99('gateway') - p99('floor')) / 1000).toFixed(2)} ms  (target ≤ 2 ms)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
