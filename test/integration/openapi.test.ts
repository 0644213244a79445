/**
 * openapi.yaml is a valid OpenAPI 3.1 document and cannot drift from the code: the routes the
 * app serves are exactly the documented ones, the documented error codes are exactly the
 * error catalog, and real responses of every route (successes and errors) match the spec.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import request from 'supertest';
import { errorCatalog } from '../../src/errors.js';
import { echoTransport, inProcessApp } from '../helpers/in-process-app.js';
import { assertMatchesSpec, openApiDocument } from '../helpers/openapi-contract.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (METHOD path) the Express app routes, with `:param` written as OpenAPI's `{param}`. */
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
  for (const [path, item] of Object.entries(openApiDocument['paths'] as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) if (['get', 'post', 'put', 'delete', 'patch'].includes(method)) routes.push(`${method.toUpperCase()} ${path}`);
  }
  return routes.sort();
}

describe('OpenAPI contract', () => {
  let app: Express;
  let close: () => Promise<void>;
  before(async () => {
    ({ app, close } = await inProcessApp({ MAX_BODY_BYTES: '1024' }, echoTransport()));
  });
  after(async () => close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(openApiDocument));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(openApiDocument['openapi'], '3.1.0');
  });

  it('documents exactly the routes the app serves', () => {
    assert.deepEqual(servedRoutes(app), documentedRoutes());
  });

  it('documents exactly the error codes of the catalog', () => {
    const schemas = (openApiDocument['components'] as { schemas: Record<string, { enum?: string[] }> }).schemas;
    assert.deepEqual([...(schemas['ErrorCode']?.enum ?? [])].sort(), Object.keys(errorCatalog).sort());
  });

  it('serves itself at GET /openapi.yaml', async () => {
    const response = await request(app).get('/openapi.yaml');
    assert.equal(response.status, 200);
    assert.match(response.text, /^openapi: 3\.1\.0/);
    assertMatchesSpec('get', '/openapi.yaml', response);
  });

  it('matches every route’s real successes and errors', async () => {
    const csv = (r: request.Test) => r.set('content-type', 'text/csv');
    const cases: Array<[string, string, () => request.Test, number]> = [
      ['post', '/models/{model}/predict', () => csv(request(app).post('/models/churn/predict')).send('1,2,3'), 200],
      ['post', '/models/{model}/predict', () => csv(request(app).post('/models/a..b/predict')).send('1,2,3'), 400],
      ['post', '/models/{model}/predict', () => csv(request(app).post('/models/churn/predict')).send(''), 400],
      ['post', '/models/{model}/predict', () => csv(request(app).post('/models/churn/predict')).set('x-request-timeout-ms', 'soon').send('1'), 400],
      ['post', '/models/{model}/predict', () => csv(request(app).post('/models/churn/predict')).send('1'.repeat(2048)), 413],
      ['post', '/models/{model}/predict', () => request(app).post('/models/churn/predict').set('content-type', 'not a type').send('1'), 415],
      ['post', '/endpoints/{endpoint}/invocations', () => csv(request(app).post('/endpoints/test-mme/invocations')).set('x-amzn-sagemaker-target-model', 'churn.tar.gz').send('1,2,3'), 200],
      ['post', '/endpoints/{endpoint}/invocations', () => csv(request(app).post('/endpoints/other-mme/invocations')).set('x-amzn-sagemaker-target-model', 'churn.tar.gz').send('1,2,3'), 400],
      ['post', '/endpoints/{endpoint}/invocations', () => csv(request(app).post('/endpoints/test-mme/invocations')).send('1,2,3'), 400],
      ['get', '/models', () => request(app).get('/models'), 200],
      ['get', '/models/{model}', () => request(app).get('/models/churn'), 200],
      ['get', '/models/{model}', () => request(app).get('/models/a..b'), 400],
      ['post', '/models/{model}/warm', () => request(app).post('/models/churn/warm'), 200],
      ['get', '/healthz', () => request(app).get('/healthz'), 200],
      ['get', '/readyz', () => request(app).get('/readyz'), 200],
      ['get', '/metrics', () => request(app).get('/metrics'), 200],
    ];
    for (const [method, path, send, status] of cases) {
      const response = await send();
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      assertMatchesSpec(method, path, response);
    }
  });

  it('rejects a response the spec does not describe', () => {
    assert.throws(() => assertMatchesSpec('get', '/healthz', { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'r' }, text: '{"status":"sleepy"}' }));
    assert.throws(() => assertMatchesSpec('get', '/healthz', { status: 418, headers: {}, text: '' }));
    assert.throws(() => assertMatchesSpec('post', '/models/{model}/predict', { status: 200, headers: { 'content-type': 'text/csv', 'x-request-id': 'r' }, text: '1' }), /X-Model-Start/);
  });
});
