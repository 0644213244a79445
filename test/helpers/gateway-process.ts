/**
 * Starts the real gateway as a child process (the same entry point `npm start` runs, through
 * tsx so tests need no build), on an ephemeral port with the embedded local MME on another,
 * and waits for its "listening" log line. Acceptance tests talk to it over real HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export type LogLine = Record<string, unknown>;

export interface RunningGateway {
  url: string;
  /** The embedded local MME's URL (undefined when LOCAL_MME=off). */
  localMmeUrl: string | undefined;
  process: ChildProcess;
  /** Every JSON log line the process printed so far. */
  logs: LogLine[];
  stderr: string[];
  /** The first log line (already printed or still to come) that matches: waits on the event, not a sleep. */
  waitForLog(matches: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** The parent's environment without anything that would point the gateway at real AWS. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('AWS_') || key.startsWith('SAGEMAKER_') || key.startsWith('LOCAL_MME') || key === 'MODEL_CATALOG') continue;
    if (key.startsWith('NODE_TEST') || key === 'NODE_OPTIONS' || key.startsWith('OTEL_')) continue;
    env[key] = value;
  }
  return env;
}

export async function startGateway(
  env: Record<string, string> = {},
  /**
   * `listeningMessage`: the log line that says the process is ready (the standalone local MME says 'local MME listening').
   * `preload`: a module to --import before the entry (test/helpers/process-probe.ts).
   */
  options: { entry?: string; timeoutMs?: number; cwd?: string; listeningMessage?: string; preload?: string } = {},
): Promise<RunningGateway> {
  const entry = options.entry ?? 'src/main.ts';
  const preload = options.preload ? ['--import', options.preload] : [];
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', ...preload, entry] : [...preload, entry];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? repoRoot,
    env: {
      ...cleanEnv(),
      PORT: '0',
      HOST: '127.0.0.1',
      LOCAL_MME_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const logWaiters = new Set<(line: LogLine) => void>();
  const waitForLog = (matches: (line: LogLine) => boolean, timeoutMs = 10_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = logs.find(matches);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        logWaiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (line: LogLine) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        logWaiters.delete(waiter);
        resolve(line);
      };
      logWaiters.add(waiter);
    });
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const listening = new Promise<RunningGateway>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started process behind a failed test
      reject(new Error(`gateway did not start in time; stderr: ${stderr.join('\n')}`));
    }, options.timeoutMs ?? 30_000);
    let localMmeUrl: string | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(record);
      for (const waiter of logWaiters) waiter(record);
      if (record['message'] === 'embedded local MME started') localMmeUrl = String(record['url']);
      if (record['message'] === (options.listeningMessage ?? 'listening')) {
        clearTimeout(timer);
        resolve({
          url: `http://127.0.0.1:${String(record['port'])}`,
          localMmeUrl,
          process: child,
          logs,
          stderr,
          exited,
          waitForLog,
          async stop(signal: NodeJS.Signals = 'SIGTERM') {
            if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
            child.kill(signal);
            const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            const code = await exited;
            clearTimeout(killer);
            return code;
          },
        });
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening; stderr: ${stderr.join('\n')}`));
    });
  });
  return listening;
}

/** Reads one sample's value from a Prometheus text exposition (sum over matching series). */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[3] ?? '';
    const ok = Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`));
    if (ok) total += Number(match[4]);
  }
  return total;
}
