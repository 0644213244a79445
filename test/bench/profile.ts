/**
 * Where the gateway's CPU goes on the warm path: runs the compiled gateway behind the bench
 * upstream, drives it like the warm-path bench (32 connections), profiles only the measured
 * load with V8's CPU profiler (cpu-profiler.mjs: start-up and JIT warm-up excluded), and
 * prints self time as a share of busy time (idle excluded), grouped by package, by Node
 * module, by gateway file, and native functions and GC by name.
 *
 *   node --import tsx test/bench/profile.ts [--keys] [--ref <git ref>]
 *
 * `--ref` profiles another commit's build (see baseline.ts) for before/after shares.
 * PROFILE_SECONDS (default 10) sizes the run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildGatewayAt } from './baseline.js';
import { driverHeaders, gatewayEnv } from './gateway-env.js';
import { drive } from './load.js';
import { repoRoot, startServer } from './processes.js';

const run = promisify(execFile);
const args = process.argv.slice(2);
const apiKeys = args.includes('--keys');
const refIndex = args.indexOf('--ref');
const ref = refIndex >= 0 ? args[refIndex + 1] : undefined;
const SECONDS = Number(process.env['PROFILE_SECONDS'] ?? 10);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}

/** The bucket a frame's self time belongs to. */
function categoryOf({ functionName, url }: ProfileNode['callFrame']): string {
  if (url === '') return functionName.startsWith('(') ? functionName : `native ${functionName}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope = '', name = ''] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (url.startsWith('node:')) return `node ${url.slice(5).replace(/^internal\//, '').split('/')[0]}`;
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? `gateway ${url.slice(dist + 6)}` : url;
}

export function shares(profile: { nodes: ProfileNode[] }): Array<{ category: string; share: number }> {
  const hits = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const count = node.hitCount ?? 0;
    const category = categoryOf(node.callFrame);
    if (category === '(idle)' || count === 0) continue;
    busy += count;
    hits.set(category, (hits.get(category) ?? 0) + count);
  }
  return [...hits]
    .map(([category, count]) => ({ category, share: count / busy }))
    .sort((a, b) => b.share - a.share);
}

async function main(): Promise<void> {
  let mainJs = join(repoRoot, 'dist/main.js');
  let label = 'working tree';
  if (ref) {
    const built = await buildGatewayAt(ref);
    mainJs = built.mainJs;
    label = `${ref} (${built.commit})`;
  } else {
    await run('npm', ['run', 'build'], { cwd: repoRoot });
  }
  const profileFile = join(mkdtempSync(join(tmpdir(), 'mme-gateway-profile-')), 'gateway.cpuprofile');
  const upstream = await startServer('upstream', 'test/bench/upstream.ts', {});
  const env = { ...gatewayEnv(upstream.url, { apiKeys }), CPU_PROFILE_OUT: profileFile };
  const gateway = await startServer('gateway', mainJs, env, 'ignore-after-start', ['--import', join(repoRoot, 'test/bench/cpu-profiler.mjs')]);
  let requestsPerSecond = 0;
  try {
    const headers = driverHeaders({ apiKeys });
    await drive(gateway.url, { connections: 32, durationSeconds: 3, headers }); // JIT warm-up
    process.kill(gateway.pid, 'SIGUSR2');
    const result = await drive(gateway.url, { connections: 32, durationSeconds: SECONDS, headers });
    requestsPerSecond = result.requestsPerSecond;
    if (result.non2xx + result.errors > 0) throw new Error(`${result.non2xx + result.errors} failed requests`);
  } finally {
    await gateway.stop();
    await upstream.stop();
  }
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as { nodes: ProfileNode[] };
  console.log(`CPU profile: ${label}, API keys ${apiKeys ? 'on' : 'off'}, ${Math.round(requestsPerSecond)} req/s; self time as a share of busy time`);
  console.log(`(${profileFile})`);
  console.table(shares(profile).slice(0, 40).map(({ category, share }) => ({ category, '%': (share * 100).toFixed(1) })));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
