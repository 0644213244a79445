/**
 * openapi.yaml is a valid OpenAPI 3.1 document and cannot drift from the code: the routes the
 * app serves are exactly the documented ones, the documented error codes are exactly the
 * error catalog, and real responses of every route (successes and every error the app can be
 * made to give in-process) match the spec, headers, content types and bodies alike.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { hashApiKey } from '../../src/access-control.js';
import { errorCatalog } from '../../src/errors.js';
import type { InvokeEndpointOutput, InvokeEndpointParams, UpstreamTransport } from '../../src/invoke/transport.js';
import { inProcessApp } from '../helpers/in-process-app.js';
import { HTTP_METHODS, assertMatchesSpec, assertRequestMatchesSpec, openApiDocument } from '../helpers/openapi-contract.js';

type Json = Record<string, unknown>;

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD path` the Express app routes (nested routers too), `:param` written as `{param}`. */
function servedRoutes(app: Express): string[] {
  const routes: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') routes.push(`${method.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return routes.sort();
}

function documentedRoutes(): string[] {
  const routes: string[] = [];
  for (const [path, item] of Object.entries(openApiDocument['paths'] as Record<string, Json>)) {
    for (const method of Object.keys(item)) if ((HTTP_METHODS as readonly string[]).includes(method)) routes.push(`${method.toUpperCase()} ${path}`);
  }
  return routes.sort();
}

function operations(): Array<{ where: string; operation: Json }> {
  return Object.entries(openApiDocument['paths'] as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => (HTTP_METHODS as readonly string[]).includes(method))
      .map(([method, operation]) => ({ where: `${method.toUpperCase()} ${path}`, operation: operation as Json })),
  );
}

/** An upstream error shaped as the SDK (and the lean transport) raise them. */
function upstreamError(name: string, fields: Json = {}): Error {
  return Object.assign(new Error(`${name} from the scripted upstream`), { name, $metadata: {}, ...fields });
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(upstreamError('AbortError')), { once: true }));
}

/**
 * Upstream behaviour chosen by the TargetModel's first word (`crashing-wire.tar.gz` behaves
 * like `crashing.tar.gz`), so each case gets its own model and breaker but a known answer.
 */
function scriptedTransport(hold: Promise<void>, onHeld: () => void): UpstreamTransport {
  const loaded = new Set<string>();
  const answer = (body: string): InvokeEndpointOutput => ({
    body: new TextEncoder().encode(body),
    contentType: 'text/csv',
    customAttributes: undefined,
    invokedVariant: 'AllTraffic',
    upstreamRequestId: 'upstream-1',
  });
  return {
    async invokeEndpoint(params: InvokeEndpointParams, signal: AbortSignal) {
      const behaviour = (params.targetModel ?? '').split(/[-.]/)[0];
      switch (behaviour) {
        case 'crashing':
          throw upstreamError('ModelError', { OriginalStatusCode: 500, OriginalMessage: 'segfault' });
        case 'picky':
          throw upstreamError('ModelError', { OriginalStatusCode: 422, OriginalMessage: 'expected 6 columns' });
        case 'teapot':
          throw upstreamError('ModelError', { OriginalStatusCode: 418, OriginalMessage: 'short and stout' });
        case 'rejected':
          throw upstreamError('ValidationError');
        case 'missing':
          throw Object.assign(upstreamError('ValidationError'), {
            message: `Failed to download model data(bucket: models, key: ${params.targetModel}). Please ensure that there is an object located at the URL.`,
          });
        case 'loading':
          throw upstreamError('ModelNotReadyException');
        case 'unavailable':
          throw upstreamError('ServiceUnavailable');
        case 'throttled':
          throw upstreamError('ThrottlingException');
        case 'broken':
          throw upstreamError('InternalFailure');
        case 'offline':
          throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
        case 'slow':
          return aborted(signal);
        case 'sleepy':
          // Warm on a quick call, then too slow for the caller's deadline.
          return new TextDecoder().decode(params.body) === 'slow' ? aborted(signal) : answer('0.5\n');
        case 'held':
          onHeld();
          await hold;
          return answer('0.5\n');
        case 'buggy':
          // A transport breaking its contract stands in for a bug: the route throws a TypeError.
          return { ...answer(''), body: undefined as unknown as Uint8Array };
        default:
          // A model's first call pays for its load, as on a multi-model endpoint.
          if (!loaded.has(params.targetModel ?? '')) {
            loaded.add(params.targetModel ?? '');
            await new Promise((resolve) => setTimeout(resolve, FIRST_LOAD_MS));
          }
          return {
            ...answer('0.5\n'),
            ...(params.customAttributes !== undefined ? { customAttributes: `echo=${params.customAttributes}` } : {}),
          };
      }
    },
    close() {},
  };
}

/** The scripted first load, above the app's COLD_FIRST_CALL_MS so it counts as cold by evidence. */
const FIRST_LOAD_MS = 200;

/** Endpoint-level failures each get their own endpoint, so one opening its breaker spares the rest. */
const ENDPOINT_FAILURES = ['unavailable', 'throttled', 'broken', 'offline', 'slow'];

type Send = (r: request.Test) => request.Test;

describe('OpenAPI contract', () => {
  let workDir: string;
  let app: Express;
  let keyed: Express;
  const closers: Array<() => Promise<void>> = [];
  let releaseHeld!: () => void;
  let heldCalled!: Promise<void>;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'openapi-'));
    const models: Record<string, { endpoint: string; targetModel: string }> = {};
    for (const name of ENDPOINT_FAILURES) {
      for (const variant of [name, `${name}-wire`]) models[variant] = { endpoint: `ep-${variant}`, targetModel: `${name}.tar.gz` };
    }
    writeFileSync(join(workDir, 'catalog.json'), JSON.stringify({ policy: 'default-rule', models }));
    writeFileSync(join(workDir, 'keyed-catalog.json'), JSON.stringify({ policy: 'catalog-only', models: { churn: {}, other: {} } }));

    const hold = new Promise<void>((resolve) => (releaseHeld = resolve));
    let onHeld!: () => void;
    heldCalled = new Promise<void>((resolve) => (onHeld = resolve));
    const plain = await inProcessApp(
      {
        MODEL_CATALOG: join(workDir, 'catalog.json'),
        MAX_BODY_BYTES: '1024',
        TRANSIENT_RETRIES: '0',
        UPSTREAM_SOCKET_TIMEOUT_MS: '150',
        COLD_QUEUE_MAX: '0',
        BREAKER_VOLUME_THRESHOLD: '1',
        COLD_FIRST_CALL_MS: String(FIRST_LOAD_MS / 2),
      },
      scriptedTransport(hold, onHeld),
    );
    app = plain.app;
    closers.push(plain.close);

    const key = (id: string, models: string[], endpoints: string[], metrics: boolean) => ({
      id,
      sha256: hashApiKey(`${id}-secret`).toString('hex'),
      models,
      endpoints,
      metrics,
    });
    const withKeys = await inProcessApp(
      {
        MODEL_CATALOG: join(workDir, 'keyed-catalog.json'),
        METRICS_REQUIRE_API_KEY: 'true',
        API_KEYS: JSON.stringify({ keys: [key('alice', ['churn'], ['test-mme'], false), key('ops', ['*'], ['*'], true)] }),
      },
      scriptedTransport(Promise.resolve(), () => {}),
    );
    keyed = withKeys.app;
    closers.push(withKeys.close);
  });
  after(async () => {
    releaseHeld?.();
    for (const close of closers) await close();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** Sends, checks status and code (problem+json `code` or X-Gateway-Error-Code), then the spec. */
  async function check(target: Express, method: 'get' | 'post' | 'delete', path: string, status: number, code?: string, send: Send = (r) => r) {
    const response = await send(request(target)[method](path));
    const where = `${method.toUpperCase()} ${path}`;
    assert.equal(response.status, status, `${where}: ${response.text}`);
    if (code !== undefined) {
      const seen = response.headers['x-gateway-error-code'] ?? (JSON.parse(response.text) as { code?: string }).code;
      assert.equal(seen, code, `${where}: ${response.text}`);
    }
    assertRequestMatchesSpec(method, path, response);
    return response;
  }
  const csv = (body: string | Buffer, headers: Record<string, string> = {}): Send => (r) => r.set({ 'content-type': 'text/csv', ...headers }).send(body);
  const wire = (target: string | undefined, body: string, headers: Record<string, string> = {}): Send =>
    csv(body, { ...(target !== undefined ? { 'x-amzn-sagemaker-target-model': target } : {}), ...headers });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(openApiDocument));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(openApiDocument['openapi'], '3.1.0');
  });

  it('documents exactly the routes the app serves', () => {
    assert.deepEqual(servedRoutes(app), documentedRoutes());
  });

  it('notices a route added without the spec', async () => {
    const extra = await inProcessApp({});
    try {
      extra.app.get('/debug/vars', (_req, res) => res.json({}));
      const served = servedRoutes(extra.app);
      assert.deepEqual(
        served.filter((route) => !documentedRoutes().includes(route)),
        ['GET /debug/vars'],
      );
    } finally {
      await extra.close();
    }
  });

  it('documents exactly the error codes of the catalog, each on an operation with its status', () => {
    const schemas = (openApiDocument['components'] as { schemas: Record<string, Json> }).schemas;
    const codeRef = ((schemas['Problem']?.['properties'] as Json)['code'] as { $ref: string }).$ref;
    const codeSchema = schemas[codeRef.split('/').pop()!] as { enum: string[] };
    assert.deepEqual([...codeSchema.enum].sort(), Object.keys(errorCatalog).sort());

    const described = `${(openApiDocument['info'] as Json)['description']}\n${operations()
      .map(({ operation }) => operation['description'])
      .join('\n')}`;
    const statuses = new Set(operations().flatMap(({ operation }) => Object.keys(operation['responses'] as Json)));
    for (const [code, { status }] of Object.entries(errorCatalog)) {
      assert.match(described, new RegExp(`\\b${code}\\b`), `${code} is not described on any operation`);
      if (code !== 'NOT_FOUND') assert.ok(statuses.has(String(status)), `${code}: status ${status} is on no operation`);
    }
  });

  it('serves itself at GET /openapi.yaml', async () => {
    const response = await check(app, 'get', '/openapi.yaml', 200);
    assert.match(response.headers['content-type'] ?? '', /^application\/yaml/);
    assert.match(response.text, /^openapi: 3\.1\.0/m);
  });

  it('predict: successes and every error the route gives', async () => {
    const first = await check(app, 'post', '/models/churn/predict', 200, undefined, csv('1,2,3', { 'x-request-id': 'order-42', 'x-amzn-sagemaker-custom-attributes': 'trace=1' }));
    assert.equal(first.headers['x-request-id'], 'order-42');
    assert.equal(first.headers['x-model-start'], 'cold');
    assert.equal(first.headers['x-amzn-sagemaker-custom-attributes'], 'echo=trace=1');
    const second = await check(app, 'post', '/models/churn/predict', 200, undefined, csv('1,2,3', { 'x-request-id': 'has space', 'x-request-timeout-ms': '5000' }));
    assert.equal(second.headers['x-model-start'], 'warm');
    assert.match(second.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/, 'an invalid X-Request-Id is replaced');

    await check(app, 'post', '/models/a..b/predict', 400, 'INVALID_MODEL_NAME', csv('1'));
    await check(app, 'post', '/models/%E0%A4%A/predict', 400, 'INVALID_REQUEST', csv('1'));
    await check(app, 'post', '/models/churn/predict', 400, 'EMPTY_BODY', csv(''));
    const badDeadline = await check(app, 'post', '/models/churn/predict', 400, 'INVALID_HEADER', csv('1', { 'x-request-timeout-ms': 'soon' }));
    assert.equal(JSON.parse(badDeadline.text).header, 'x-request-timeout-ms');
    await check(app, 'post', '/models/churn/predict', 400, 'INVALID_HEADER', csv('1', { 'x-amzn-sagemaker-inference-id': 'i'.repeat(65) }));
    await check(app, 'post', '/models/rejected/predict', 400, 'UPSTREAM_VALIDATION_ERROR', csv('1'));
    await check(app, 'post', '/models/missing/predict', 404, 'MODEL_NOT_FOUND', csv('1'));
    await check(app, 'post', '/models/churn/predict', 413, 'PAYLOAD_TOO_LARGE', csv('1'.repeat(2048)));
    await check(app, 'post', '/models/churn/predict', 415, 'UNSUPPORTED_MEDIA_TYPE', (r) => r.set('content-type', 'not a type').send('1'));
    await check(app, 'post', '/models/churn/predict', 415, 'UNSUPPORTED_MEDIA_TYPE', csv('1', { 'content-encoding': 'gzip' }));
    const picky = await check(app, 'post', '/models/picky/predict', 422, 'MODEL_ERROR', csv('1'));
    assert.equal(JSON.parse(picky.text).originalStatus, 422);
    await check(app, 'post', '/models/teapot/predict', 418, 'MODEL_ERROR', csv('1'));
    await check(app, 'post', '/models/buggy/predict', 500, 'INTERNAL_ERROR', csv('1'));
    await check(app, 'post', '/models/crashing/predict', 502, 'MODEL_ERROR', csv('1'));
    const open = await check(app, 'post', '/models/crashing/predict', 503, 'CIRCUIT_OPEN', csv('1'));
    assert.match(open.headers['retry-after'] ?? '', /^\d+$/);
    await check(app, 'post', '/models/broken/predict', 502, 'UPSTREAM_ERROR', csv('1'));
    await check(app, 'post', '/models/offline/predict', 502, 'UPSTREAM_UNREACHABLE', csv('1'));
    await check(app, 'post', '/models/unavailable/predict', 503, 'UPSTREAM_UNAVAILABLE', csv('1'));
    await check(app, 'post', '/models/throttled/predict', 503, 'UPSTREAM_THROTTLED', csv('1'));
    const notReady = await check(app, 'post', '/models/loading/predict', 503, 'MODEL_NOT_READY', csv('1', { 'x-request-timeout-ms': '30' }));
    assert.equal(JSON.parse(notReady.text).deadline, 'caller');
    assert.equal(notReady.headers['x-model-start'], 'cold');
    await check(app, 'post', '/models/slow/predict', 504, 'UPSTREAM_TIMEOUT', csv('1'));
    await check(app, 'post', '/models/sleepy/predict', 200, undefined, csv('fast'));
    await check(app, 'post', '/models/sleepy/predict', 504, 'DEADLINE_EXCEEDED', csv('slow', { 'x-request-timeout-ms': '50' }));

    // A second caller for a model whose first load is still in flight, with no queue room.
    const probe = request(app).post('/models/held/predict').set('content-type', 'text/csv').send('1').then((r) => r);
    await heldCalled;
    await check(app, 'post', '/models/held/predict', 503, 'QUEUE_FULL', csv('1'));
    releaseHeld();
    const released = await probe;
    assert.equal(released.status, 200);
    assertRequestMatchesSpec('post', '/models/held/predict', released);
  });

  it('the SageMaker-compatible route: answers and SageMaker-encoded errors', async () => {
    const ok = await check(app, 'post', '/endpoints/test-mme/invocations', 200, undefined, wire('churn.tar.gz', '1,2,3', { 'x-request-id': 'wire-1' }));
    assert.equal(ok.headers['x-amzn-requestid'], 'wire-1');
    assert.equal(ok.headers['x-amzn-invoked-production-variant'], 'AllTraffic');

    const validation = await check(app, 'post', '/endpoints/test-mme/invocations', 400, 'INVALID_TARGET_MODEL', wire(undefined, '1'));
    assert.match(validation.headers['x-amzn-errortype'] ?? '', /^ValidationError:/);
    await check(app, 'post', '/endpoints/test-mme/invocations', 400, 'INVALID_TARGET_MODEL', wire('../escape.tar.gz', '1'));
    await check(app, 'post', '/endpoints/bad_name/invocations', 400, 'INVALID_ENDPOINT_NAME', wire('churn.tar.gz', '1'));
    await check(app, 'post', '/endpoints/other-mme/invocations', 400, 'ENDPOINT_NOT_ALLOWED', wire('churn.tar.gz', '1'));
    await check(app, 'post', '/endpoints/test-mme/invocations', 400, 'EMPTY_BODY', wire('churn.tar.gz', ''));
    await check(app, 'post', '/endpoints/test-mme/invocations', 400, 'INVALID_HEADER', wire('churn.tar.gz', '1', { 'x-request-timeout-ms': '0' }));
    await check(app, 'post', '/endpoints/test-mme/invocations', 400, 'PAYLOAD_TOO_LARGE', wire('churn.tar.gz', '1'.repeat(2048)));
    const modelError = await check(app, 'post', '/endpoints/test-mme/invocations', 424, 'MODEL_ERROR', wire('picky-wire.tar.gz', '1'));
    assert.equal(JSON.parse(modelError.text).OriginalStatusCode, 422);
    const notReady = await check(app, 'post', '/endpoints/test-mme/invocations', 429, 'MODEL_NOT_READY', wire('loading-wire.tar.gz', '1', { 'x-request-timeout-ms': '30' }));
    assert.match(notReady.headers['retry-after'] ?? '', /^\d+$/);
    await check(app, 'post', '/endpoints/ep-broken-wire/invocations', 500, 'UPSTREAM_ERROR', wire('broken.tar.gz', '1'));
    await check(app, 'post', '/endpoints/ep-unavailable-wire/invocations', 503, 'UPSTREAM_UNAVAILABLE', wire('unavailable.tar.gz', '1'));
    await check(app, 'post', '/endpoints/ep-slow-wire/invocations', 503, 'UPSTREAM_TIMEOUT', wire('slow.tar.gz', '1'));
    // Not a GatewayError: the app's own error handler answers, as problem+json.
    const bug = await check(app, 'post', '/endpoints/test-mme/invocations', 500, 'INTERNAL_ERROR', wire('buggy-wire.tar.gz', '1'));
    assert.match(bug.headers['content-type'] ?? '', /^application\/problem\+json/);
  });

  it('models, warm-up, health, metrics and unmatched requests', async () => {
    await check(app, 'post', '/models/warmable/warm', 200, undefined);
    const warmed = await check(app, 'post', '/models/picky-warm/warm', 200, undefined, csv('1'));
    assert.equal(JSON.parse(warmed.text).containerAnswer, 'model_error_422');
    await check(app, 'post', '/models/a..b/warm', 400, 'INVALID_MODEL_NAME');
    await check(app, 'post', '/models/warmable/warm', 400, 'INVALID_HEADER', (r) => r.set('x-request-timeout-ms', '-1'));
    await check(app, 'post', '/models/warmable/warm', 415, 'UNSUPPORTED_MEDIA_TYPE', (r) => r.set('content-type', '???').send('1'));
    await check(app, 'post', '/models/warmable/warm', 413, 'PAYLOAD_TOO_LARGE', csv('1'.repeat(2048)));
    await check(app, 'post', '/models/crashing-warm/warm', 502, 'MODEL_ERROR');

    // After the cases above the listing holds open breakers, loading and warm models alike.
    const list = await check(app, 'get', '/models', 200);
    assert.ok(JSON.parse(list.text).models.length > 10);
    await check(app, 'get', '/models/churn', 200);
    const failing = await check(app, 'get', '/models/crashing', 200);
    assert.equal(JSON.parse(failing.text).state, 'failing');
    assert.equal(JSON.parse(failing.text).lastError.code, 'MODEL_ERROR');
    await check(app, 'get', '/models/a..b', 400, 'INVALID_MODEL_NAME');
    await check(app, 'get', '/models/%E0%A4%A', 400, 'INVALID_REQUEST');
    await check(app, 'get', '/healthz', 200);
    await check(app, 'get', '/readyz', 200);
    const metrics = await check(app, 'get', '/metrics', 200);
    assert.match(metrics.text, /mme_gateway_invocation_duration_seconds_bucket/);

    await check(app, 'get', '/nope', 404, 'NOT_FOUND');
    await check(app, 'get', '/models/churn/predict', 404, 'NOT_FOUND');
    await check(app, 'delete', '/models/churn', 404, 'NOT_FOUND');
    await check(app, 'post', '/endpoints/test-mme/other', 404, 'NOT_FOUND');
  });

  it('with API keys on: 401, 403 and the catalog-only 404s', async () => {
    const alice = { 'x-api-key': 'alice-secret' };
    const ops = { authorization: 'Bearer ops-secret' };
    const as = (headers: Record<string, string>): Send => (r) => r.set(headers);
    const unauthorized = await check(keyed, 'post', '/models/churn/predict', 401, 'UNAUTHORIZED', csv('1'));
    assert.equal(unauthorized.headers['www-authenticate'], 'Bearer realm="mme-gateway"');
    await check(keyed, 'post', '/models/churn/predict', 401, 'UNAUTHORIZED', csv('1', { authorization: 'Bearer wrong' }));
    await check(keyed, 'post', '/models/churn/predict', 200, undefined, csv('1', { authorization: 'Bearer alice-secret' }));
    await check(keyed, 'post', '/models/other/predict', 403, 'FORBIDDEN', csv('1', alice));
    await check(keyed, 'post', '/models/nope/predict', 404, 'MODEL_NOT_FOUND', csv('1', ops));

    const listed = await check(keyed, 'get', '/models', 200, undefined, as(alice));
    assert.deepEqual(JSON.parse(listed.text).models.map((m: { name: string }) => m.name), ['churn']);
    await check(keyed, 'get', '/models', 401, 'UNAUTHORIZED');
    await check(keyed, 'get', '/models/other', 403, 'FORBIDDEN', as(alice));
    await check(keyed, 'get', '/models/nope', 404, 'MODEL_NOT_FOUND', as(ops));
    await check(keyed, 'post', '/models/churn/warm', 401, 'UNAUTHORIZED');
    await check(keyed, 'post', '/models/other/warm', 403, 'FORBIDDEN', as(alice));
    await check(keyed, 'post', '/models/nope/warm', 404, 'MODEL_NOT_FOUND', as(ops));
    await check(keyed, 'get', '/metrics', 401, 'UNAUTHORIZED');
    await check(keyed, 'get', '/metrics', 403, 'FORBIDDEN', as(alice));
    await check(keyed, 'get', '/metrics', 200, undefined, as(ops));
    await check(keyed, 'get', '/openapi.yaml', 401, 'UNAUTHORIZED');
    await check(keyed, 'get', '/openapi.yaml', 200, undefined, as(alice));
    await check(keyed, 'get', '/healthz', 200);
    await check(keyed, 'get', '/readyz', 200);

    const denied = await check(keyed, 'post', '/endpoints/test-mme/invocations', 403, 'UNAUTHORIZED', wire('churn.tar.gz', '1'));
    assert.match(denied.headers['x-amzn-errortype'] ?? '', /^AccessDeniedException:/);
    await check(keyed, 'post', '/endpoints/test-mme/invocations', 403, 'FORBIDDEN', wire('other.tar.gz', '1', alice));
    await check(keyed, 'post', '/endpoints/test-mme/invocations', 400, 'ENDPOINT_NOT_ALLOWED', wire('nope.tar.gz', '1', ops));
    await check(keyed, 'post', '/endpoints/test-mme/invocations', 200, undefined, wire('churn.tar.gz', '1', alice));
  });

  it('rejects a response the spec does not describe', () => {
    const json = { 'content-type': 'application/json', 'x-request-id': 'r' };
    assert.throws(() => assertMatchesSpec('get', '/healthz', { status: 200, headers: json, text: '{"status":"sleepy"}' }), /body/);
    assert.throws(() => assertMatchesSpec('get', '/healthz', { status: 418, headers: json, text: '{}' }), /not documented/);
    assert.throws(() => assertMatchesSpec('get', '/healthz', { status: 200, headers: { 'content-type': 'application/json' }, text: '{"status":"ok"}' }), /X-Request-Id/);
    assert.throws(() => assertMatchesSpec('post', '/models/{model}/predict', { status: 200, headers: { 'content-type': 'text/csv', 'x-request-id': 'r' }, text: '1' }), /X-Model-Start/);
    const problem = { 'content-type': 'application/problem+json', 'x-request-id': 'r' };
    const body = (code: string, status: number) => JSON.stringify({ type: `urn:mme-gateway:problem:${code}`, title: 't', status, detail: 'd', code, requestId: 'r' });
    assert.throws(() => assertMatchesSpec('get', '/models/{model}', { status: 404, headers: problem, text: body('NO_SUCH_CODE', 404) }), /body/);
    assert.throws(() => assertMatchesSpec('get', '/models/{model}', { status: 404, headers: problem, text: body('MODEL_NOT_FOUND', 400) }), /status/);
    assert.throws(() => assertMatchesSpec('post', '/models/{model}/predict', { status: 503, headers: problem, text: body('QUEUE_FULL', 503) }), /Retry-After/);
    assert.throws(() => assertRequestMatchesSpec('get', '/undocumented', { status: 200, headers: json, text: '{}' }), /404/);
  });
});
