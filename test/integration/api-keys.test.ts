/**
 * Who may call what, on the real gateway process: API keys (hashes only) with per-key model and
 * endpoint allowlists, through the REST route and, with the real AWS SDK, the SageMaker-compatible
 * route; health checks stay open, /metrics can be restricted, and keys never reach the logs.
 * Every other spelling of a route (case, trailing slash, dot segments, doubled slashes,
 * percent-encoded characters) is no route at all, under every key; a catalog alias's target is
 * reachable only by keys that list one of its names, on both routes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { exact } from '../helpers/raw-http.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const CHECKOUT_KEY = 'checkout-secret-key-0123456789';
const OPS_KEY = 'ops-secret-key-9876543210';
/** Lists the archive's file name as a model name, which the catalog gives another name. */
const V2_KEY = 'v2-secret-key-5555555555';
/** Lists the catalog's name for the same archive. */
const SECRET_KEY = 'secret-name-key-7777777777';

/** A model directory with the sample archives plus secret-v2.tar.gz, and a catalog naming it `secret`. */
function aliasFixture(): { modelDir: string; catalog: string } {
  const modelDir = mkdtempSync(join(tmpdir(), 'api-keys-models-'));
  for (const name of ['churn', 'iris']) symlinkSync(join(DEFAULT_MODEL_DIR, `${name}.tar.gz`), join(modelDir, `${name}.tar.gz`));
  symlinkSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(modelDir, 'secret-v2.tar.gz'));
  const catalog = join(modelDir, 'catalog.json');
  writeFileSync(catalog, JSON.stringify({ policy: 'default-rule', models: { secret: { targetModel: 'secret-v2.tar.gz' } } }));
  return { modelDir, catalog };
}

/** A runtime client that sends an API key the way an SDK user would: one middleware. */
function clientWithKey(url: string, key: string | undefined): SageMakerRuntimeClient {
  const client = localRuntimeClient(url);
  if (key) {
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-api-key'] = key;
        return next(args);
      },
      { step: 'build', name: 'apiKey' },
    );
  }
  return client;
}

describe('API keys on the real gateway', () => {
  let gateway: RunningGateway;
  before(async () => {
    const { modelDir, catalog } = aliasFixture();
    gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: '0',
      LOCAL_MME_MODEL_DIR: modelDir,
      MODEL_CATALOG: catalog,
      METRICS_REQUIRE_API_KEY: 'true',
      API_KEYS: JSON.stringify({
        keys: [
          { id: 'checkout', sha256: sha(CHECKOUT_KEY), models: ['churn'], endpoints: ['local-mme'] },
          { id: 'ops', sha256: sha(OPS_KEY), metrics: true },
          { id: 'v2', sha256: sha(V2_KEY), models: ['secret-v2'], endpoints: ['local-mme'] },
          { id: 'secret', sha256: sha(SECRET_KEY), models: ['secret'], endpoints: ['local-mme'] },
        ],
      }),
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  const predict = (model: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: '12,70.5,3,1,0,1' });
  const code = async (response: Response) => ((await response.json()) as { code: string }).code;

  it('refuses calls without a valid key and allows a key its own models only', async () => {
    const badKeys: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }, { 'x-api-key': 'wrong' }];
    for (const headers of badKeys) {
      const response = await predict('churn', headers);
      assert.equal(response.status, 401);
      assert.equal(await code(response), 'UNAUTHORIZED');
    }
    assert.equal((await predict('churn', { authorization: `Bearer ${CHECKOUT_KEY}` })).status, 200);
    assert.equal((await predict('churn', { 'x-api-key': CHECKOUT_KEY })).status, 200);
    const forbidden = await predict('iris', { 'x-api-key': CHECKOUT_KEY });
    assert.equal(forbidden.status, 403);
    assert.equal(await code(forbidden), 'FORBIDDEN');
  });

  it('keeps health checks open and restricts /metrics to keys allowed to read it', async () => {
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': CHECKOUT_KEY } })).status, 403);
    assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': OPS_KEY } })).status, 200);
  });

  it('applies the same keys on the SageMaker-compatible route, where SigV4 is not identity', async () => {
    const call = (client: SageMakerRuntimeClient, target = 'churn.tar.gz') =>
      invokeEndpoint(client, { EndpointName: 'local-mme', TargetModel: target, ContentType: 'text/csv', Body: '12,70.5,3,1,0,1' });
    const anonymous = clientWithKey(gateway.url, undefined);
    const checkout = clientWithKey(gateway.url, CHECKOUT_KEY);
    const ops = clientWithKey(gateway.url, OPS_KEY);
    try {
      const signedOnly = await call(anonymous);
      assert.equal(signedOnly.errorName, 'AccessDeniedException', 'a valid SigV4 signature alone is not a key');
      assert.equal(signedOnly.status, 403);
      assert.equal((await call(checkout)).ok, true);
      assert.equal((await call(checkout, 'iris.tar.gz')).errorName, 'AccessDeniedException');
      assert.equal((await call(ops)).errorName, 'AccessDeniedException', 'a key without models or endpoints reaches nothing');
    } finally {
      for (const client of [anonymous, checkout, ops]) client.destroy();
    }
  });

  it('logs the caller id, never the key', async () => {
    await predict('churn', { 'x-api-key': CHECKOUT_KEY, 'x-request-id': 'key-log-check' });
    const line = await gateway.waitForLog((entry) => entry['requestId'] === 'key-log-check');
    assert.equal(line?.['caller'], 'checkout');
    const everything = JSON.stringify(gateway.logs) + gateway.stderr.join('\n');
    for (const key of [CHECKOUT_KEY, OPS_KEY]) assert.ok(!everything.includes(key), 'a key reached the logs');
  });

  const CSV = { 'content-type': 'text/csv' };
  const ROW = '12,70.5,3,1,0,1';
  /** Every route under its access rule, as its canonical spelling. */
  const routes: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string }> = [
    { method: 'GET', path: '/metrics' },
    { method: 'GET', path: '/healthz' },
    { method: 'GET', path: '/readyz' },
    { method: 'GET', path: '/openapi.yaml' },
    { method: 'GET', path: '/models' },
    { method: 'GET', path: '/models/churn' },
    { method: 'GET', path: '/models/iris' },
    { method: 'POST', path: '/models/churn/predict', headers: CSV, body: ROW },
    { method: 'POST', path: '/models/iris/predict', headers: CSV, body: ROW },
    { method: 'POST', path: '/models/churn/warm' },
    { method: 'POST', path: '/endpoints/local-mme/invocations', headers: { ...CSV, 'x-amzn-sagemaker-target-model': 'churn.tar.gz' }, body: ROW },
  ];
  const keys: Record<string, Record<string, string>> = {
    none: {},
    checkout: { 'x-api-key': CHECKOUT_KEY },
    ops: { authorization: `Bearer ${OPS_KEY}` },
  };

  /** Spellings Express would match without strict, case-sensitive routing, or a proxy might normalise. */
  function otherSpellings(path: string): string[] {
    const firstLetter = path.search(/[a-z]/);
    const letter = path[firstLetter]!;
    const lastSlash = path.lastIndexOf('/');
    return [
      path.toUpperCase(),
      path.slice(0, firstLetter) + letter.toUpperCase() + path.slice(firstLetter + 1),
      `${path}/`,
      `/.${path}`,
      `/x/..${path}`,
      `/${path}`,
      `${path.slice(0, lastSlash)}/${path.slice(lastSlash)}`,
      path.slice(0, firstLetter) + `%${letter.charCodeAt(0).toString(16)}` + path.slice(firstLetter + 1),
      `${path.slice(0, lastSlash)}%2F${path.slice(lastSlash + 1)}`,
      `${path}%2F`,
    ].filter((spelling) => spelling.startsWith('/'));
  }

  /** The gateway's code, whichever encoding answered (problem+json, or SageMaker's under /endpoints). */
  function codeOf(response: { headers: Record<string, unknown>; text: string }): string | undefined {
    const header = response.headers['x-gateway-error-code'];
    if (typeof header === 'string') return header;
    try {
      return (JSON.parse(response.text) as { code?: string }).code;
    } catch {
      return undefined;
    }
  }

  it('answers every other spelling of every route as no route (401 without a key, else 404 or an invalid name), never as the route', async () => {
    const upstreamCalls = async () => metricValue(await (await fetch(`${gateway.url}/metrics`, { headers: keys['ops'] })).text(), 'mme_gateway_upstream_requests_total');
    const before = await upstreamCalls();
    let checked = 0;
    for (const route of routes) {
      for (const spelling of otherSpellings(route.path)) {
        for (const [who, keyHeaders] of Object.entries(keys)) {
          const response = await exact(gateway.url, route.method, spelling, { ...route.headers, ...keyHeaders }, route.body);
          // An encoded slash inside a name segment makes the name itself invalid (400), never another route.
          const expected = who === 'none' ? ['UNAUTHORIZED'] : ['NOT_FOUND', 'INVALID_MODEL_NAME'];
          const code = codeOf(response);
          assert.ok(code !== undefined && expected.includes(code), `${route.method} ${spelling} with ${who}: ${response.status} ${response.text.slice(0, 200)}`);
          checked++;
        }
      }
    }
    assert.equal(await upstreamCalls(), before, 'no other spelling reached the upstream');
    assert.ok(checked >= routes.length * 9 * 3);
  });

  it('decides each canonical route by its own rule', async () => {
    const status = async (route: (typeof routes)[number], who: string) =>
      (await exact(gateway.url, route.method, route.path, { ...route.headers, ...keys[who] }, route.body)).status;
    const expected: Record<string, [number, number, number]> = {
      '/metrics': [401, 403, 200],
      '/healthz': [200, 200, 200],
      '/readyz': [200, 200, 200],
      '/openapi.yaml': [401, 200, 200],
      '/models': [401, 200, 200],
      '/models/churn': [401, 200, 403],
      '/models/iris': [401, 403, 403],
      '/models/churn/predict': [401, 200, 403],
      '/models/iris/predict': [401, 403, 403],
      '/models/churn/warm': [401, 200, 403],
      '/endpoints/local-mme/invocations': [403, 200, 403], // SageMaker's AccessDeniedException is a 403
    };
    for (const route of routes) {
      const got = [await status(route, 'none'), await status(route, 'checkout'), await status(route, 'ops')];
      assert.deepEqual(got, expected[route.path], `${route.method} ${route.path} (none, checkout, ops)`);
    }
  });

  it('decides on the decoded name: a percent-encoded model name is the same model under the same rule', async () => {
    const predict = (path: string, key: string) => exact(gateway.url, 'POST', path, { ...CSV, 'x-api-key': key }, ROW);
    assert.equal((await predict('/models/ch%75rn/predict', CHECKOUT_KEY)).status, 200);
    assert.equal((await predict('/models/%69ris/predict', CHECKOUT_KEY)).status, 403);
    assert.equal((await predict('/models/CHURN/predict', CHECKOUT_KEY)).status, 403, 'CHURN is another model (CHURN.tar.gz), not on the key');
    const traversal = await predict('/models/%2e%2e/predict', CHECKOUT_KEY);
    assert.equal(codeOf(traversal), 'INVALID_MODEL_NAME');
  });

  it('reaches a catalog alias\'s target only with a key listing one of its names, on both routes', async () => {
    const predict = (model: string, key: string) => exact(gateway.url, 'POST', `/models/${model}/predict`, { ...CSV, 'x-api-key': key }, ROW);
    const wire = async (key: string) => {
      const client = clientWithKey(gateway.url, key);
      try {
        return await invokeEndpoint(client, { EndpointName: 'local-mme', TargetModel: 'secret-v2.tar.gz', ContentType: 'text/csv', Body: ROW });
      } finally {
        client.destroy();
      }
    };
    // The archive's own spelling is not a name once the catalog names the archive.
    const byFileName = await predict('secret-v2', V2_KEY);
    assert.equal(byFileName.status, 404);
    assert.equal(codeOf(byFileName), 'MODEL_NOT_FOUND');
    assert.equal((await predict('secret', V2_KEY)).status, 403);
    assert.equal((await wire(V2_KEY)).errorName, 'AccessDeniedException');
    // The key that lists the catalog's name reaches the archive on both routes.
    assert.equal((await predict('secret', SECRET_KEY)).status, 200);
    assert.equal((await wire(SECRET_KEY)).ok, true);
    assert.equal((await predict('secret-v2', SECRET_KEY)).status, 404);
    const listed = async (key: string) =>
      ((await (await fetch(`${gateway.url}/models`, { headers: { 'x-api-key': key } })).json()) as { models: Array<{ name: string }> }).models.map((m) => m.name);
    assert.deepEqual(await listed(V2_KEY), []);
    assert.deepEqual(await listed(SECRET_KEY), ['secret']);
  });
});
