/**
 * `npm run bench`: the gateway (every feature on; then with tracing on at 100 % and 1 % sampling,
 * and with its collector down), a naive Express + SDK gateway and a bare proxy hop, each in its
 * own process in front of the same instant upstream, driven with the
 * same load from separate processes in alternating rounds. Prints requests/s, p50/p99, CPU µs
 * per request (the server's own CPU time over its requests) and RSS, then the ratios; then
 * the cold-burst and 10,000-model checks, and the cold/warm split while the upstream keeps
 * evicting and reloading a model under steady traffic. Figures are medians over the rounds.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { buildGatewayAt } from './baseline.js';
import { driverHeaders, gatewayEnv } from './gateway-env.js';
import { drive } from './load.js';
import { type BenchServer, cpuMicros, repoRoot, rssBytes, startServer } from './processes.js';
import { evictionUnderLoad } from './eviction.js';
import { listingUnderLoad } from './listing.js';
import { coldBurst, manyModels } from './scenarios.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const LATENCY_RATE = Number(process.env['BENCH_RATE'] ?? 500);
/** A git ref whose build is measured next to this one (before/after in one run), e.g. main. */
const BASELINE = process.env['BENCH_BASELINE'];
/** Which parts to run: any of warm, cold, many, evict, listing (comma-separated); all by default. */
const PARTS = new Set((process.env['BENCH_PARTS'] ?? 'warm,cold,many,evict,listing').split(','));
/** Which gateway targets of the warm path to run (a regular expression on their names); all by default. Naive and floor always run. */
const TARGETS = new RegExp(process.env['BENCH_TARGETS'] ?? '');

interface Round {
  rps: number;
  cpuUsPerRequest: number;
  /** The same at the fixed latency rate: steadier than at saturation when the machine is shared. */
  cpuUsPerRequestAtRate: number;
  p50Us: number;
  p99Us: number;
  rssMb: number;
  failures: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function fixedRate(url: string, rate: number, seconds: number, headers: Record<string, string>) {
  const driver = join(repoRoot, 'test/bench/rate-driver.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', driver, url, String(rate), String(seconds), JSON.stringify(headers)], { cwd: repoRoot });
  return JSON.parse(stdout) as { requests: number; failures: number; p50Us: number; p99Us: number };
}

async function measure({ server, headers }: Target): Promise<Round> {
  const cpuBefore = cpuMicros(server.pid);
  const throughput = await drive(server.url, { connections: CONNECTIONS, durationSeconds: SECONDS, headers });
  const cpuUsed = cpuMicros(server.pid) - cpuBefore;
  const cpuBeforeRate = cpuMicros(server.pid);
  const latency = await fixedRate(server.url, LATENCY_RATE, SECONDS, headers);
  const cpuUsedAtRate = cpuMicros(server.pid) - cpuBeforeRate;
  return {
    rps: throughput.requestsPerSecond,
    cpuUsPerRequest: cpuUsed / Math.max(1, throughput.requests),
    cpuUsPerRequestAtRate: cpuUsedAtRate / Math.max(1, latency.requests),
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
  if (PARTS.has('evict')) {
    console.log('\nCold/warm split while the upstream evicts and reloads a model under steady traffic (local MME in its own process):');
    console.table(await evictionUnderLoad());
  }
  if (PARTS.has('listing')) {
    console.log('\nGET /models after 10,000 names, and predict latency while it is called in a loop:');
    const { sizes, latency } = await listingUnderLoad();
    console.table(sizes);
    console.table(latency);
  }
}

interface Target {
  server: BenchServer;
  headers: Record<string, string>;
}

/** The gateways to measure: this build with API keys off and on, and BENCH_BASELINE's build the same way. */
async function gatewayTargets(upstreamUrl: string): Promise<Target[]> {
  const builds = [{ label: 'gateway', mainJs: 'dist/main.js' }];
  if (BASELINE) {
    const { mainJs, commit } = await buildGatewayAt(BASELINE);
    builds.push({ label: `gateway@${commit}`, mainJs });
  }
  const targets: Target[] = [];
  for (const build of builds) {
    for (const apiKeys of [false, true]) {
      const name = `${build.label}${apiKeys ? '+keys' : ''}`;
      if (TARGETS.test(name)) targets.push({ server: await startServer(name, build.mainJs, gatewayEnv(upstreamUrl, { apiKeys })), headers: driverHeaders({ apiKeys }) });
    }
  }
  return targets;
}

/**
 * This build with tracing on: every request starts a new trace (the load sends no traceparent),
 * sampled at 100 % and at 1 %, and at 100 % with its collector down (every export fails).
 */
async function tracedTargets(upstreamUrl: string, collectorUrl: string): Promise<Target[]> {
  const variants = [
    { name: 'gateway traced 100%', ratio: '1', endpoint: collectorUrl },
    { name: 'gateway traced 1%', ratio: '0.01', endpoint: collectorUrl },
    { name: 'gateway traced, collector down', ratio: '1', endpoint: 'http://127.0.0.1:9' },
  ];
  const targets: Target[] = [];
  for (const { name, ratio, endpoint } of variants.filter((variant) => TARGETS.test(variant.name))) {
    const env = { ...gatewayEnv(upstreamUrl, { apiKeys: false }), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: ratio };
    targets.push({ server: await startServer(name, 'dist/main.js', env), headers: driverHeaders({ apiKeys: false }) });
  }
  return targets;
}

async function warmPath(): Promise<void> {
  const upstream = await startServer('upstream', 'test/bench/upstream.ts', {});
  const collector = await startServer('collector', 'test/bench/otlp-sink.ts', {});
  const targets: Target[] = [
    ...(await gatewayTargets(upstream.url)),
    ...(await tracedTargets(upstream.url, collector.url)),
    { server: await startServer('naive', 'test/bench/naive-gateway.ts', { UPSTREAM_URL: upstream.url }), headers: {} },
    { server: await startServer('floor', 'test/bench/floor-proxy.ts', { UPSTREAM_URL: upstream.url }), headers: {} },
  ];
  const rounds = new Map<string, Round[]>(targets.map((t) => [t.server.name, []]));
  try {
    for (const target of targets) await drive(target.server.url, { connections: CONNECTIONS, durationSeconds: 2, headers: target.headers }); // JIT warm-up
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts one target later, so no target always runs right after the same other one.
      for (let index = 0; index < targets.length; index++) {
        const target = targets[(round + index) % targets.length]!;
        rounds.get(target.server.name)!.push(await measure(target));
      }
    }
  } finally {
    await Promise.all([...targets.map((t) => t.server), upstream, collector].map((s) => s.stop()));
  }

  const summary = targets.map(({ server }) => {
    const rs = rounds.get(server.name)!;
    return {
      target: server.name,
      'req/s': Math.round(median(rs.map((r) => r.rps))),
      [`p50 µs @${LATENCY_RATE}/s`]: Math.round(median(rs.map((r) => r.p50Us))),
      [`p99 µs @${LATENCY_RATE}/s`]: Math.round(median(rs.map((r) => r.p99Us))),
      'CPU µs/req': Math.round(median(rs.map((r) => r.cpuUsPerRequest))),
      [`CPU µs/req @${LATENCY_RATE}/s`]: Math.round(median(rs.map((r) => r.cpuUsPerRequestAtRate))),
      'RSS MB': Math.round(median(rs.map((r) => r.rssMb))),
      failures: rs.reduce((sum, r) => sum + r.failures, 0),
    };
  });
  console.log(`\nWarm path: ${ROUNDS} alternating rounds, ${SECONDS} s each, ${CONNECTIONS} connections (throughput, CPU) and ${LATENCY_RATE} req/s open-loop (latency); medians.`);
  console.table(summary);
  const byName = Object.fromEntries(summary.map((s) => [s.target, s]));
  const cpu = (name: string) => Number(byName[name]?.['CPU µs/req']);
  const p99 = (name: string) => Number(byName[name]?.[`p99 µs @${LATENCY_RATE}/s`]);
  const gateways = summary.map((s) => s.target).filter((name) => name.startsWith('gateway'));
  console.table(
    gateways.map((name) => ({
      target: name,
      'CPU / naive (≤ 0.50)': (cpu(name) / cpu('naive')).toFixed(2),
      'CPU / floor': (cpu(name) / cpu('floor')).toFixed(2),
      'p99 over floor, ms': ((p99(name) - p99('floor')) / 1000).toFixed(2),
      'p99 − naive p99, ms': ((p99(name) - p99('naive')) / 1000).toFixed(2),
    })),
  );
  const baseline = gateways.find((name) => name.startsWith('gateway@') && !name.endsWith('+keys'));
  if (baseline) {
    for (const suffix of ['', '+keys']) {
      const [after, before] = [`gateway${suffix}`, `${baseline}${suffix}`];
      console.log(`${after} vs ${before}: CPU ${cpu(after)} vs ${cpu(before)} µs/req (${(cpu(after) / cpu(before)).toFixed(2)}×), p99 ${p99(after)} vs ${p99(before)} µs`);
    }
  }
  const cpuAtRate = (name: string) => Number(byName[name]?.[`CPU µs/req @${LATENCY_RATE}/s`]);
  const traceCost = (name: string) =>
    `${cpu(name) - cpu('gateway')} µs/req at saturation, ${cpuAtRate(name) - cpuAtRate('gateway')} µs/req at ${LATENCY_RATE} req/s`;
  if (!byName['gateway traced 100%']) return;
  console.log(`Tracing CPU over tracing off: 100 % sampled ${traceCost('gateway traced 100%')}; 1 % sampled ${traceCost('gateway traced 1%')}; collector down ${traceCost('gateway traced, collector down')}`);
  console.log(`p99 with the collector down vs up (100 % sampled): ${(p99('gateway traced, collector down') / 1000).toFixed(2)} ms vs ${(p99('gateway traced 100%') / 1000).toFixed(2)} ms`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
