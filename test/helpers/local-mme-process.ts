/**
 * Starts the local MME on its own as a child process (`src/local-mme/main.ts`, what `npm run
 * local-mme` runs), on an ephemeral port, so a test can kill it (SIGKILL: an endpoint that
 * vanishes) and start it again on the same port (the endpoint recovering).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { repoRoot } from './gateway-process.js';

export interface LocalMmeProcess {
  url: string;
  port: number;
  process: ChildProcess;
  kill(): Promise<void>;
  /** Starts a fresh process on the same port (models load again: it is a new endpoint host). */
  restart(): Promise<LocalMmeProcess>;
  stats(): Promise<Record<string, unknown>>;
  setFaults(plan: unknown): Promise<void>;
}

export async function startLocalMmeProcess(env: Record<string, string>, port = 0): Promise<LocalMmeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local-mme/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', LOCAL_MME_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = once(child, 'exit');
  const listening = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`local MME did not start; stderr: ${stderr.join('\n')}`));
    }, 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record['message'] === 'local MME listening') {
          clearTimeout(timer);
          resolve({ url: String(record['url']), port: Number(record['port']) });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`local MME exited before listening; stderr: ${stderr.join('\n')}`));
    });
  });
  const handle: LocalMmeProcess = {
    ...listening,
    process: child,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await handle.kill();
      return startLocalMmeProcess(env, listening.port);
    },
    async stats() {
      return (await (await fetch(`${listening.url}/_local/stats`)).json()) as Record<string, unknown>;
    },
    async setFaults(plan) {
      const response = await fetch(`${listening.url}/_local/faults`, { method: 'PUT', body: JSON.stringify(plan) });
      if (response.status !== 200) throw new Error(`faults: ${response.status} ${await response.text()}`);
    },
  };
  return handle;
}
