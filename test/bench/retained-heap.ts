/**
 * Retained memory of 10,000 distinct model names, measured exactly: the real app in this
 * process (run with --expose-gc) in front of an instant transport, heap used after full GCs
 * before and after the names. RSS (measured in scenarios.ts) also counts the garbage V8 has
 * not collected yet and the heap space it keeps reserved; this is what the names really hold.
 */
import type { AddressInfo } from 'node:net';
import { echoTransport, inProcessApp } from '../helpers/in-process-app.js';

const NAMES = 10_000;
const CONCURRENCY = 64;
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc');
  const { app, close } = await inProcessApp({}, echoTransport());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const post = async (model: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1,2,3' });
    await response.arrayBuffer();
  };
  const sweep = async (total: number, name: (i: number) => string) => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < total) await post(name(next++)); }));
  };
  const settledHeap = async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    gc!();
    gc!();
    return process.memoryUsage().heapUsed;
  };
  await sweep(5_000, () => 'churn');
  const before = await settledHeap();
  await sweep(NAMES, (i) => `model-${i}`);
  const after = await settledHeap();
  server.close();
  await close();
  process.stdout.write(JSON.stringify({ retainedMb: (after - before) / 1048576, bytesPerName: Math.round((after - before) / NAMES) }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
