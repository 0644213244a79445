/** Child-process plumbing for the benchmark: start a server, read its CPU time and RSS. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export interface BenchServer {
  name: string;
  url: string;
  pid: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Environment without anything that would point a server at real AWS. */
export function benchEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && !key.startsWith('SAGEMAKER_') && !key.startsWith('LOCAL_MME') && !key.startsWith('OTEL_') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return { ...env, ...extra };
}

export async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
  stdout: 'ignore-after-start' | 'keep' = 'ignore-after-start',
  nodeArgs: string[] = [],
): Promise<BenchServer> {
  // Compiled entry points run on plain node, as in production; .ts ones through tsx.
  const args = [...nodeArgs, ...(script.endsWith('.ts') ? ['--import', 'tsx', script] : [script])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: benchEnv({ PORT: '0', HOST: '127.0.0.1', ...env }), stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 30_000);
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as { message?: string; port?: number };
        if (record.message === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolve(record.port);
        }
      } catch {
        // not a JSON line
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  // Keep draining stdout (the gateway's access log) so the child never blocks on a full pipe.
  if (stdout === 'ignore-after-start') child.stdout!.resume();
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The process's own CPU time (user + system) in microseconds, from /proc. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / clockTicks;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
