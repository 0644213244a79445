/**
 * `npm run soak` (not in the default suite): minutes of mixed warm, cold and failing traffic
 * through the real gateway and its embedded local MME with faults injected, sampling memory and
 * handles as it goes; prints the samples and whether they stayed flat.
 *
 * SOAK_MINUTES (default 3), SOAK_CONCURRENCY (default 16).
 */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { metricValue, startGateway } from '../helpers/gateway-process.js';

const MINUTES = Number(process.env['SOAK_MINUTES'] ?? 3);
const CONCURRENCY = Number(process.env['SOAK_CONCURRENCY'] ?? 16);
const COLD_NAMES = 5_000;
const SAMPLE_EVERY_MS = 15_000;
const ROW = '12,70.5,3,1,0,1';

async function main(): Promise<void> {
  const modelDir = mkdtempSync(join(tmpdir(), 'soak-models-'));
  const churn = join(DEFAULT_MODEL_DIR, 'churn.tar.gz');
  for (let i = 0; i < 10; i++) symlinkSync(churn, join(modelDir, `warm-${i}.tar.gz`));
  for (let i = 0; i < COLD_NAMES; i++) symlinkSync(churn, join(modelDir, `cold-${i}.tar.gz`));
  symlinkSync(churn, join(modelDir, 'broken.tar.gz'));

  const gateway = await startGateway({
    LOCAL_MME_MODEL_DIR: modelDir,
    LOCAL_MME_LOAD_DELAY_MS: '50',
    LOCAL_MME_READY_WAIT_MS: '20',
    LOCAL_MME_MEMORY_MB: '4',
    LOCAL_MME_FAULTS: JSON.stringify({
      errorRates: { ServiceUnavailable: 0.01, InternalFailure: 0.01, ModelNotReadyException: 0.01 },
      resetRate: 0.002,
      latencyMs: 1,
      latencyJitterMs: 5,
      models: { 'broken.tar.gz': { errorRates: { ModelError: 0.7 }, modelErrorStatus: 500 } },
    }),
    UPSTREAM_SOCKET_TIMEOUT_MS: '2000',
    NOT_READY_RETRY_BASE_MS: '20',
    NOT_READY_RETRY_MAX_MS: '100',
    BREAKER_RESET_TIMEOUT_MS: '2000',
    MODEL_STATE_MAX: '2000',
    BREAKER_MAX_MODELS: '500',
  });
  // The access log would be millions of lines; keep the pipe drained and the samples readable.
  gateway.logs.length = 0;
  gateway.process.stdout?.removeAllListeners('data');

  const outcomes = new Map<string, number>();
  let sent = 0;
  let coldNext = 0;
  const endAt = performance.now() + MINUTES * 60_000;
  const pick = (i: number) => {
    const roll = i % 20;
    if (roll < 14) return `warm-${i % 10}`; // 70 % warm
    if (roll < 18) return `cold-${coldNext++ % COLD_NAMES}`; // 20 % cold (each name once per lap)
    return 'broken'; // 10 % failing
  };
  const samples: Array<Record<string, number | string>> = [];
  const sample = async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    samples.push({
      minute: Number(((MINUTES * 60_000 - (endAt - performance.now())) / 60_000).toFixed(2)),
      requests: sent,
      'RSS MB': Math.round(metricValue(text, 'process_resident_memory_bytes') / 1048576),
      'heap MB': Math.round(metricValue(text, 'nodejs_heap_size_used_bytes') / 1048576),
      handles: metricValue(text, 'nodejs_active_handles'),
      'model breakers': metricValue(text, 'mme_gateway_breakers_live'),
      'open breakers': metricValue(text, 'mme_gateway_breakers_open'),
    });
  };
  await sample();
  const sampler = setInterval(() => void sample(), SAMPLE_EVERY_MS);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < endAt) {
        const model = pick(sent++);
        const response = await fetch(`${gateway.url}/models/${model}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv', 'x-request-timeout-ms': '5000' },
          body: ROW,
        }).catch(() => undefined);
        const key = response ? `${response.status}${response.status === 200 ? '' : ` ${((await response.json()) as { code?: string }).code}`}` : 'no answer';
        if (response?.status === 200) await response.arrayBuffer();
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }),
  );
  clearInterval(sampler);
  await sample();
  await gateway.stop();

  console.log(`\nSoak: ${MINUTES} min, ${CONCURRENCY} callers, ${sent} requests (70 % warm, 20 % cold, 10 % to a failing model; upstream faults on).`);
  console.table(samples);
  console.table(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])));
  const settled = samples.slice(1);
  const first = settled[0]!;
  const last = settled.at(-1)!;
  console.log(`RSS after the first sample → end: ${first['RSS MB']} → ${last['RSS MB']} MB; handles ${first.handles} → ${last.handles}; no answer: ${outcomes.get('no answer') ?? 0}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
