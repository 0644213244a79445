/**
 * The prediction routes answer the same whichever way a request reaches them: the exact
 * spelling takes the fast path ahead of Express's router (src/http/prediction-fast-path.ts), a
 * percent-encoded spelling of the same name takes the router. On the real gateway with API keys
 * on, each pair must give the same status, error code, headers and body, and the same access
 * line (request id and latency aside).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type LogLine, type RunningGateway, startGateway } from '../helpers/gateway-process.js';

const KEY = 'fast-path-key-0123456789';
const ROW = '12,70.5,3,1,0,1';
/** Headers whose values differ per request by design. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'x-amzn-requestid', 'keep-alive', 'connection']);

interface Seen {
  status: number;
  headers: Record<string, string>;
  body: string;
  access: LogLine;
}

describe('prediction routes: fast path ≡ router', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: '0',
      API_KEYS: JSON.stringify({
        keys: [{ id: 'tester', sha256: createHash('sha256').update(KEY).digest('hex'), models: ['churn'], endpoints: ['local-mme'] }],
      }),
    });
    // Warm the model, so both spellings meet the same model state.
    await send('/models/churn/predict', { 'x-api-key': KEY, 'content-type': 'text/csv' }, ROW);
  });
  after(async () => {
    await gateway?.stop();
  });

  async function send(path: string, headers: Record<string, string>, body: string | undefined): Promise<Seen> {
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const requestId = response.headers.get('x-request-id');
    const access = await gateway.waitForLog((line) => line['message'] === 'request' && line['requestId'] === requestId);
    const kept = [...response.headers].filter(([name]) => !PER_REQUEST.has(name));
    return { status: response.status, headers: Object.fromEntries(kept), body: text, access };
  }

  /** What must match between the two ways: everything but per-request ids and timings. */
  function comparable(seen: Seen) {
    const { requestId: _id, latencyMs: _latency, timestamp: _time, upstreamRequestId: _upstream, ...access } = seen.access;
    let body = seen.body;
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      delete parsed['requestId'];
      body = JSON.stringify(parsed);
    } catch {
      // a CSV prediction: compared as is
    }
    return { status: seen.status, headers: seen.headers, body, access };
  }

  const cases: Array<{ name: string; exact: string; encoded: string; headers: Record<string, string>; body?: string; status: number }> = [
    { name: 'a prediction', exact: '/models/churn/predict', encoded: '/models/ch%75rn/predict', headers: { 'x-api-key': KEY, 'content-type': 'text/csv' }, body: ROW, status: 200 },
    { name: 'no API key (401)', exact: '/models/churn/predict', encoded: '/models/ch%75rn/predict', headers: { 'content-type': 'text/csv' }, body: ROW, status: 401 },
    { name: 'a model the key may not use (403)', exact: '/models/iris/predict', encoded: '/models/%69ris/predict', headers: { 'x-api-key': KEY, 'content-type': 'text/csv' }, body: ROW, status: 403 },
    { name: 'no Content-Type (415)', exact: '/models/churn/predict', encoded: '/models/ch%75rn/predict', headers: { 'x-api-key': KEY }, body: ROW, status: 415 },
    { name: 'an empty body (400)', exact: '/models/churn/predict', encoded: '/models/ch%75rn/predict', headers: { 'x-api-key': KEY, 'content-type': 'text/csv' }, status: 400 },
    {
      name: 'the SageMaker-compatible route',
      exact: '/endpoints/local-mme/invocations',
      encoded: '/endpoints/local%2Dmme/invocations',
      headers: { 'x-api-key': KEY, 'content-type': 'text/csv', 'x-amzn-sagemaker-target-model': 'churn.tar.gz' },
      body: ROW,
      status: 200,
    },
    {
      name: 'a SageMaker-encoded error on the compatible route',
      exact: '/endpoints/local-mme/invocations',
      encoded: '/endpoints/local%2Dmme/invocations',
      headers: { 'x-api-key': KEY, 'content-type': 'text/csv' },
      body: ROW,
      status: 400,
    },
  ];

  for (const c of cases) {
    it(`answers ${c.name} the same both ways`, async () => {
      const exact = await send(c.exact, c.headers, c.body);
      const encoded = await send(c.encoded, c.headers, c.body);
      assert.equal(exact.status, c.status, exact.body);
      assert.deepEqual(comparable(encoded), comparable(exact));
    });
  }
});
