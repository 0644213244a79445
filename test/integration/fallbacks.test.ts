/**
 * Ordered fallbacks on the real gateway, across two local MME processes: the same endpoint name
 * reached through two runtime URLs (as one name in two regions), kept apart by the gateway. The
 * primary is killed under load and the secondary takes over with no caller-visible errors
 * beyond the requests in flight at the kill, then traffic returns to the primary once it is
 * back; a model warm only on the secondary is served warm from it with preferWarm, or when
 * the caller's deadline cannot fit the primary's cold start.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { assertMatchesSpec } from '../helpers/openapi-contract.js';
import { type LocalMmeProcess, startLocalMmeProcess } from '../helpers/local-mme-process.js';

const CHURN_ROW = '12,70.5,3,1,0,1';
const MODELS = ['fraud', 'warm-elsewhere', 'no-preference', 'deadline-aware'];

describe('fallbacks across two endpoints', () => {
  let gateway: RunningGateway;
  let primary: LocalMmeProcess;
  let secondary: LocalMmeProcess;

  const predict = async (model: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${gateway.url}/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body: CHURN_ROW,
    });
    const text = await response.text();
    return { status: response.status, text, target: response.headers.get('x-model-target'), start: response.headers.get('x-model-start') };
  };
  const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();

  before(async () => {
    const modelDir = mkdtempSync(join(tmpdir(), 'fallback-models-'));
    for (const name of MODELS) copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, `${name}.tar.gz`));
    const mmeEnv = { LOCAL_MME_MODEL_DIR: modelDir, LOCAL_MME_LOAD_DELAY_MS: '600' };
    [primary, secondary] = await Promise.all([startLocalMmeProcess(mmeEnv), startLocalMmeProcess(mmeEnv)]);
    const targets = (model: string) => [
      `    targets:`,
      `      - { endpoint: risk-mme, targetModel: ${model}.tar.gz, runtimeUrl: "${primary.url}" }`,
      `      - { name: secondary, endpoint: risk-mme, targetModel: ${model}.tar.gz, runtimeUrl: "${secondary.url}" }`,
    ];
    const direct = (model: string) => `  ${model}-on-secondary: { endpoint: risk-mme, targetModel: ${model}.tar.gz, runtimeUrl: "${secondary.url}" }`;
    const catalog = join(modelDir, 'catalog.yaml');
    writeFileSync(
      catalog,
      [
        'policy: catalog-only',
        'models:',
        '  fraud:',
        ...targets('fraud'),
        '  warm-elsewhere:',
        '    preferWarm: true',
        ...targets('warm-elsewhere'),
        '  no-preference:',
        ...targets('no-preference'),
        '  deadline-aware:',
        ...targets('deadline-aware'),
        // The same (endpoint, TargetModel) as the secondary targets: calling these warms them.
        direct('warm-elsewhere'),
        direct('no-preference'),
        direct('deadline-aware'),
        '',
      ].join('\n'),
    );
    gateway = await startGateway({
      LOCAL_MME: 'off',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local-mme-does-not-check-signatures',
      MODEL_CATALOG: catalog,
      BREAKER_VOLUME_THRESHOLD: '5',
      BREAKER_RESET_TIMEOUT_MS: '1000',
      UPSTREAM_CONNECT_TIMEOUT_MS: '500',
      // A 600 ms load is a cold start (issue 11's first-call threshold), and a warm call slowed
      // by a busy machine (well under 400 ms) is still warm.
      COLD_FIRST_CALL_MS: '400',
    });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([primary?.kill(), secondary?.kill()]);
  });

  it('serves a model warm only on the secondary from the secondary with preferWarm', async () => {
    for (const model of ['warm-elsewhere', 'no-preference', 'deadline-aware']) {
      const warmed = await predict(`${model}-on-secondary`);
      assert.equal(warmed.status, 200, warmed.text);
    }
    const preferred = await predict('warm-elsewhere');
    assert.equal(preferred.status, 200, preferred.text);
    assert.equal(preferred.target, 'secondary');
    assert.equal(preferred.start, 'warm');

    const plain = await predict('no-preference');
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.target, 'primary', 'without preferWarm the cold primary is used');

    const hurried = await predict('deadline-aware', { 'x-request-timeout-ms': '5000' });
    assert.equal(hurried.status, 200, hurried.text);
    assert.equal(hurried.target, 'secondary', 'a 5 s deadline cannot fit a 360 s cold-start budget on the primary');
    assert.equal(hurried.start, 'warm');

    const reportResponse = await fetch(`${gateway.url}/models/warm-elsewhere`);
    const reportText = await reportResponse.text();
    assertMatchesSpec('get', '/models/{model}', { status: reportResponse.status, headers: reportResponse.headers, text: reportText });
    const report = JSON.parse(reportText) as { targets: Array<{ label: string; endpoint: string; state: string }> };
    assert.deepEqual(
      report.targets.map((t) => [t.label, t.endpoint, t.state]),
      [
        ['primary', `risk-mme@${new URL(primary.url).host}`, 'cold'],
        ['secondary', `risk-mme@${new URL(secondary.url).host}`, 'warm'],
      ],
      'GET /models/{model} shows each target in priority order',
    );

    const loadedOnPrimary = (await primary.stats())['models'] as Record<string, { loads: number }>;
    assert.equal(loadedOnPrimary['warm-elsewhere.tar.gz'], undefined, 'the primary never loaded it');
    assert.equal(loadedOnPrimary['no-preference.tar.gz']?.loads, 1);
    const exposition = await metrics();
    assert.equal(metricValue(exposition, 'mme_gateway_fallbacks_total', { model: 'warm-elsewhere', from: 'primary', reason: 'cold' }), 1);
    assert.equal(metricValue(exposition, 'mme_gateway_fallbacks_total', { model: 'deadline-aware', from: 'primary', reason: 'cold' }), 1);
    assert.equal(metricValue(exposition, 'mme_gateway_fallbacks_total', { model: 'no-preference' }), 0);
  });

  it('fails over when the primary dies under load, and comes back when it recovers', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await predict('fraud')).target, 'primary');

    const results: Array<{ status: number; target: string | null; sentAt: number; code?: string }> = [];
    let running = true;
    let recovered = false;
    const worker = async () => {
      while (running) {
        const sentAt = Date.now();
        const result = await predict('fraud');
        results.push({ status: result.status, target: result.target, sentAt, ...(result.status === 200 ? {} : { code: result.text }) });
        if (killedAt && result.target === 'primary' && sentAt > restartedAt) recovered = true;
      }
    };
    let killedAt = 0;
    let restartedAt = Infinity;
    const CONCURRENCY = 6;
    const workers = Array.from({ length: CONCURRENCY }, worker);

    await sleep(300);
    killedAt = Date.now();
    await primary.kill();
    await sleep(1_500);
    primary = await primary.restart();
    restartedAt = Date.now();
    const deadline = Date.now() + 15_000;
    while (!recovered && Date.now() < deadline) await sleep(50);
    running = false;
    await Promise.all(workers);

    const failures = results.filter((r) => r.status !== 200);
    assert.ok(failures.length <= CONCURRENCY, `at most the ${CONCURRENCY} requests in flight at the kill may fail, got ${failures.length}: ${JSON.stringify(failures.slice(0, 3))}`);
    const during = results.filter((r) => r.sentAt > killedAt + 200 && r.sentAt < restartedAt);
    assert.ok(during.length > 0, 'requests were sent while the primary was down');
    assert.ok(during.every((r) => r.status === 200 && r.target === 'secondary'), 'the secondary served everything while the primary was down');
    assert.ok(recovered, 'traffic went back to the primary once it recovered');
    const accessLines = gateway.logs.filter((line) => line['message'] === 'request' && line['model'] === 'fraud');
    assert.ok(accessLines.some((line) => line['target'] === 'secondary' && line['status'] === 200), 'the access log names the target that served');
    const exposition = await metrics();
    const byReason = (reason: string) => metricValue(exposition, 'mme_gateway_fallbacks_total', { model: 'fraud', from: 'primary', reason });
    assert.ok(byReason('unreachable') >= 1, 'connection failures handed requests over');
    assert.ok(byReason('circuit_open') >= 1, 'then the open breaker passed the primary over without calling it');
    assert.ok(metricValue(exposition, 'mme_gateway_target_invocations_total', { model: 'fraud', target: 'secondary', outcome: 'success' }) >= during.length);
    console.log(
      `failover: ${results.length} requests, ${failures.length} failed, ${during.length} served by the secondary while the primary was down; fallbacks unreachable=${byReason('unreachable')} circuit_open=${byReason('circuit_open')}`,
    );
  });
});
