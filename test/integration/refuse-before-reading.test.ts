/**
 * Refuse before reading, on the real gateway process over raw TCP: a request that will be
 * refused (no key, a key without the model, a bad name, a bad header, an encoding, a declared
 * length over the limit, no such route) gets its 4xx as soon as its headers are in, without
 * sending one byte of the body it announced, and the connection closes instead of being drained.
 * Expect: 100-continue is answered with the refusal, or with 100 Continue once everything passed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { rawExchange } from '../helpers/raw-http.js';

const KEY = 'checkout-secret-key-0123456789';
const OPS_KEY = 'ops-secret-key-9876543210';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const HUGE = String(200 * 1024 * 1024);
/** Well under any timeout: the answer comes when the headers are in, not after a body. */
const PROMPT_MS = 1_500;

function head(method: string, path: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

describe('refuse before reading the body', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: '0',
      METRICS_REQUIRE_API_KEY: 'true',
      API_KEYS: JSON.stringify({
        keys: [
          { id: 'checkout', sha256: sha(KEY), models: ['churn'], endpoints: ['local-mme'] },
          { id: 'ops', sha256: sha(OPS_KEY), metrics: true },
        ],
      }),
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  const key = { 'x-api-key': KEY };
  const csv = { 'content-type': 'text/csv' };
  const cases: Array<{ what: string; method?: string; path: string; headers: Record<string, string>; status: number; code: string }> = [
    { what: 'declared length over the limit', path: '/models/churn/predict', headers: { ...key, ...csv, 'content-length': HUGE }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
    { what: 'no key', path: '/models/churn/predict', headers: { ...csv, 'content-length': HUGE }, status: 401, code: 'UNAUTHORIZED' },
    { what: 'no key, chunked', path: '/models/churn/predict', headers: { ...csv, 'transfer-encoding': 'chunked' }, status: 401, code: 'UNAUTHORIZED' },
    { what: 'a model the key does not list', path: '/models/iris/predict', headers: { ...key, ...csv, 'content-length': '1000' }, status: 403, code: 'FORBIDDEN' },
    { what: 'a bad name with a big body', path: '/models/..x/predict', headers: { ...key, ...csv, 'content-length': HUGE }, status: 400, code: 'INVALID_MODEL_NAME' },
    { what: 'no content type', path: '/models/churn/predict', headers: { ...key, 'content-length': '1000' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { what: 'a content encoding', path: '/models/churn/predict', headers: { ...key, ...csv, 'content-encoding': 'gzip', 'content-length': '1000' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { what: 'a bad deadline header', path: '/models/churn/predict', headers: { ...key, ...csv, 'x-request-timeout-ms': 'soon', 'content-length': '1000' }, status: 400, code: 'INVALID_HEADER' },
    { what: 'warm-up: a bad name', path: '/models/..x/warm', headers: { ...key, ...csv, 'content-length': '6000000' }, status: 400, code: 'INVALID_MODEL_NAME' },
    { what: 'warm-up: a model the key does not list', path: '/models/iris/warm', headers: { ...key, ...csv, 'content-length': '6000000' }, status: 403, code: 'FORBIDDEN' },
    { what: 'warm-up: over the limit', path: '/models/churn/warm', headers: { ...key, ...csv, 'content-length': HUGE }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
    { what: 'warm-up: a body without its type', path: '/models/churn/warm', headers: { ...key, 'content-length': '1000' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    {
      what: 'wire route: a target the key does not list',
      path: '/endpoints/local-mme/invocations',
      headers: { ...key, ...csv, 'x-amzn-sagemaker-target-model': 'iris.tar.gz', 'content-length': HUGE },
      status: 403,
      code: 'FORBIDDEN',
    },
    {
      what: 'wire route: over the limit',
      path: '/endpoints/local-mme/invocations',
      headers: { ...key, ...csv, 'x-amzn-sagemaker-target-model': 'churn.tar.gz', 'content-length': HUGE },
      status: 400, // SageMaker's ValidationError; the gateway's code travels in X-Gateway-Error-Code
      code: 'PAYLOAD_TOO_LARGE',
    },
    { what: 'no such route', path: '/models/churn/predict/extra', headers: { ...key, ...csv, 'content-length': HUGE }, status: 404, code: 'NOT_FOUND' },
  ];

  for (const [index, c] of cases.entries()) {
    it(`answers ${c.status} ${c.code} at once and closes: ${c.what}`, async () => {
      const requestId = `refuse-${index}`;
      const { text, answeredAfterMs, closedAfterMs } = await rawExchange(gateway.url, head(c.method ?? 'POST', c.path, { ...c.headers, 'x-request-id': requestId }));
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${c.status} `), text);
      assert.ok(text.includes(c.code), `code ${c.code} in ${text}`);
      assert.ok(answeredAfterMs !== undefined && answeredAfterMs < PROMPT_MS, `answered after ${answeredAfterMs} ms`);
      assert.ok(closedAfterMs < PROMPT_MS, `closed after ${closedAfterMs} ms: the connection is closed, not kept to drain the body`);
      await waitFor(() => gateway.logs.some((line) => line['requestId'] === requestId));
      const logged = gateway.logs.find((line) => line['requestId'] === requestId)!;
      assert.equal(logged['status'], c.status, 'the access log records the status sent');
      assert.equal(logged['code'], c.code);
    });
  }

  it('answers Expect: 100-continue with the refusal, never with 100 Continue', async () => {
    const { text } = await rawExchange(gateway.url, head('POST', '/models/iris/predict', { ...key, ...csv, expect: '100-continue', 'content-length': '15' }));
    assert.match(text, /^HTTP\/1\.1 403 /);
    assert.ok(!text.includes('100 Continue'), text);
  });

  it('asks for the body with 100 Continue only once every check passed, then serves it', async () => {
    const body = '12,70.5,3,1,0,1';
    const { port } = new URL(gateway.url);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(head('POST', '/models/churn/predict', { ...key, ...csv, expect: '100-continue', 'content-length': String(body.length), connection: 'close' })),
      );
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        if (!received.includes('100 Continue') && (received + chunk).includes('100 Continue')) socket.write(body);
        received += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
    });
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, text);
  });

  it('sends a refused body from a real client its answer, not a reset', async () => {
    const response = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { ...key, ...csv }, body: Buffer.alloc(7 * 1024 * 1024, 0x31) });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  });

  it('sent nothing upstream for any refused request', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { 'x-api-key': OPS_KEY } })).text();
    assert.equal(metricValue(metrics, 'mme_gateway_upstream_requests_total'), 1, 'only the one 100-continue prediction');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
