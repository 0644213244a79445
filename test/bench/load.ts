/** Drives load with autocannon from its own process, so the driver's CPU is not the server's. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './processes.js';

const run = promisify(execFile);

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  /** Fixed overall rate (req/s) for latency rounds; omit for maximum throughput. */
  rate?: number;
  path?: string;
  body?: string;
  /** Extra request headers (an API key). */
  headers?: Record<string, string>;
}

export async function drive(url: string, options: LoadOptions): Promise<LoadResult> {
  const args = [
    join(repoRoot, 'node_modules/autocannon/autocannon.js'),
    '--json',
    '-c', String(options.connections),
    '-d', String(options.durationSeconds),
    '-m', 'POST',
    '-H', 'content-type=text/csv',
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}=${value}`]),
    '-b', options.body ?? '12,70.5,3,1,0,1',
    ...(options.rate ? ['--overallRate', String(options.rate)] : []),
    `${url}${options.path ?? '/models/churn/predict'}`,
  ];
  const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
  const result = JSON.parse(stdout) as {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    duration: number;
  };
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
