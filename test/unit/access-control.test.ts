import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { ApiKeyRegistry, loadApiKeys } from '../../src/access-control.js';
import { inProcessApp } from '../helpers/in-process-app.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');

describe('API key registry', () => {
  const registry = new ApiKeyRegistry([
    { id: 'checkout', sha256: sha('k-checkout'), models: ['churn'], endpoints: ['*'], metrics: false },
    { id: 'ops', sha256: sha('k-ops'), models: [], endpoints: [], metrics: true },
  ]);

  it('finds the owner of a key and nobody for a wrong one', () => {
    assert.equal(registry.authenticate('k-checkout')?.id, 'checkout');
    assert.equal(registry.authenticate('k-ops')?.id, 'ops');
    assert.equal(registry.authenticate('k-checkout '), undefined);
    assert.equal(registry.authenticate(''), undefined);
  });

  it('refuses keys given in clear and names the bad field', () => {
    assert.throws(() => loadApiKeys(JSON.stringify({ keys: [{ id: 'x', sha256: 'plain-secret' }] }), undefined), /API_KEYS: keys\.0\.sha256/);
    assert.throws(() => loadApiKeys(undefined, '/nonexistent/keys.yaml'), /API_KEYS_FILE/);
    assert.equal(loadApiKeys(undefined, undefined), undefined);
  });
});

describe('access control on the routes', () => {
  let app: Awaited<ReturnType<typeof inProcessApp>>;
  before(async () => {
    app = await inProcessApp({
      API_KEYS: JSON.stringify({
        keys: [
          { id: 'checkout', sha256: sha('k-checkout'), models: ['churn'] },
          { id: 'ops', sha256: sha('k-ops'), metrics: true },
        ],
      }),
      METRICS_REQUIRE_API_KEY: 'true',
    });
  });
  after(() => app.close());

  const predict = (model: string) => request(app.app).post(`/models/${model}/predict`).set('content-type', 'text/csv').send('1,2,3');

  it('answers 401 problem+json without a key or with a wrong one', async () => {
    for (const response of [await predict('churn'), await predict('churn').set('authorization', 'Bearer nope')]) {
      assert.equal(response.status, 401);
      assert.equal(response.body.code, 'UNAUTHORIZED');
      assert.match(response.headers['content-type'] ?? '', /problem\+json/);
      assert.match(response.headers['www-authenticate'] ?? '', /Bearer/);
    }
  });

  it('lets a key call its models, by Bearer or X-Api-Key, and 403s the others', async () => {
    assert.equal((await predict('churn').set('authorization', 'Bearer k-checkout')).status, 200);
    assert.equal((await predict('churn').set('x-api-key', 'k-checkout')).status, 200);
    const forbidden = await predict('fraud').set('x-api-key', 'k-checkout');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'FORBIDDEN');
    assert.equal((await predict('churn').set('x-api-key', 'k-ops')).status, 403);
  });

  it('keeps health checks open and restricts /metrics to keys allowed to read it', async () => {
    assert.equal((await request(app.app).get('/healthz')).status, 200);
    assert.equal((await request(app.app).get('/readyz')).status, 200);
    assert.equal((await request(app.app).get('/metrics')).status, 401);
    assert.equal((await request(app.app).get('/metrics').set('x-api-key', 'k-checkout')).status, 403);
    assert.equal((await request(app.app).get('/metrics').set('x-api-key', 'k-ops')).status, 200);
  });

  it('lists only the models a key may use', async () => {
    await predict('churn').set('x-api-key', 'k-checkout');
    const list = await request(app.app).get('/models').set('x-api-key', 'k-checkout');
    assert.equal(list.status, 200);
    assert.ok(list.body.models.every((m: { name: string }) => m.name === 'churn'));
  });

  it('sends API security headers', async () => {
    const response = await request(app.app).get('/healthz');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['referrer-policy'], 'no-referrer');
    assert.equal(response.headers['x-powered-by'], undefined);
  });
});
