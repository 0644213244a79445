/**
 * Hostile and broken input, property-based (fast-check) against the real app in-process with
 * a transport that records what would go upstream: every input gets a documented status and
 * problem+json code, never a 500, and nothing invalid reaches SageMaker. (The same contract
 * over a real process and the real local MME is table-driven in predict.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import type { Express } from 'express';
import { isValidModelName } from '../../src/catalog.js';
import type { InvokeEndpointParams } from '../../src/invoke/transport.js';
import { echoTransport, inProcessApp } from '../helpers/in-process-app.js';

const MAX_BODY = 64 * 1024;
/** superagent would JSON-encode a Buffer sent as application/json; the bytes must go as they are. */
const asIs = (body: unknown) => body as string;
const RUNS = 300;

describe('bad input never reaches SageMaker and always gets a documented answer', () => {
  let app: Express;
  let close: () => Promise<void>;
  const upstream: InvokeEndpointParams[] = [];

  before(async () => {
    ({ app, close } = await inProcessApp({ MAX_BODY_BYTES: String(MAX_BODY) }, echoTransport((params) => upstream.push(params))));
  });
  after(async () => close());

  function assertProblem(response: request.Response, allowed: Record<number, string[]>) {
    const codes = allowed[response.status];
    assert.ok(codes, `unexpected status ${response.status}: ${response.text}`);
    assert.match(response.headers['content-type'] ?? '', /^application\/problem\+json/);
    const body = JSON.parse(response.text) as Record<string, unknown>;
    assert.ok(codes.includes(String(body['code'])), `code ${String(body['code'])} for status ${response.status}`);
    assert.equal(body['status'], response.status);
    assert.ok(!response.text.includes('    at '), 'no stack trace');
  }

  it('model names: valid ones go upstream as <name>.tar.gz, the rest are refused', async () => {
    const names = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/),
      fc.constantFrom('..', '.', 'a..b', '../etc/passwd', '/abs', 'x'.repeat(129), 'x'.repeat(1025), 'a\u0000b', 'caf\u00e9', 'a b', 'a%2Fb'),
    );
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        fc.pre(name.length > 0);
        const before = upstream.length;
        const response = await request(app).post(`/models/${encodeURIComponent(name)}/predict`).set('content-type', 'text/csv').send('1,2,3');
        if (isValidModelName(name)) {
          assert.equal(response.status, 200, response.text);
          assert.equal(upstream.length, before + 1);
          assert.equal(upstream.at(-1)?.targetModel, `${name}.tar.gz`);
        } else {
          assertProblem(response, { 400: ['INVALID_MODEL_NAME', 'INVALID_REQUEST'], 404: ['NOT_FOUND'] });
          assert.equal(upstream.length, before, `nothing upstream for ${JSON.stringify(name)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('headers: deadline, custom attributes, inference id, variant and request id', async () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 1100 });
    const headerValue = fc.oneof(printable, fc.constantFrom('', '0', '-1', '1e3', '3600001', '99999999', ' 5', 'soon'), fc.integer().map(String));
    const headerName = fc.constantFrom(
      'x-request-timeout-ms',
      'x-amzn-sagemaker-custom-attributes',
      'x-amzn-sagemaker-inference-id',
      'x-amzn-sagemaker-target-variant',
      'x-request-id',
      'accept',
    );
    await fc.assert(
      fc.asyncProperty(headerName, headerValue, async (name, value) => {
        const before = upstream.length;
        const response = await request(app).post('/models/churn/predict').set('content-type', 'text/csv').set(name, value).send('1,2,3');
        if (response.status === 200) {
          assert.equal(upstream.length, before + 1);
          const id = response.headers['x-request-id'] as string;
          assert.match(id, /^[A-Za-z0-9._:@/+=-]{1,128}$/, 'the echoed request id is always safe');
        } else if (name === 'x-request-timeout-ms' && response.status !== 400) {
          // A valid but tiny deadline (a few ms) may pass before even the in-process upstream
          // answers: that is the caller's deadline doing its job, answered as documented.
          assertProblem(response, { 503: ['MODEL_NOT_READY'], 504: ['DEADLINE_EXCEEDED'] });
          assert.ok(Number(value) < 1000, `deadline ${value} ms expired`);
        } else {
          assertProblem(response, { 400: ['INVALID_HEADER'] });
          assert.notEqual(name, 'x-request-id', 'a bad request id is replaced, never refused');
          assert.equal(upstream.length, before);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('content types and bodies', async () => {
    const contentType = fc.oneof(
      fc.constantFrom('text/csv', 'application/json', 'application/x-npy', 'text/csv; charset=utf-8', 'application/jsonlines', '', 'text', 'text/', '/csv', 'a/b; =', '"quoted"'),
      fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
    );
    const body = fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.constant(new Uint8Array(0)), fc.constant(new Uint8Array(MAX_BODY + 1)));
    await fc.assert(
      fc.asyncProperty(contentType, body, async (type, bytes) => {
        const before = upstream.length;
        const response = await request(app).post('/models/churn/predict').set('content-type', type).serialize(asIs).send(Buffer.from(bytes));
        if (response.status === 200) {
          assert.equal(upstream.at(-1)?.contentType, type, 'content type passed through unchanged');
          assert.deepEqual(Buffer.from(upstream.at(-1)?.body ?? []), Buffer.from(bytes), 'body passed through unchanged');
        } else {
          assertProblem(response, { 400: ['EMPTY_BODY'], 413: ['PAYLOAD_TOO_LARGE'], 415: ['UNSUPPORTED_MEDIA_TYPE'] });
          assert.equal(upstream.length, before);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('stays healthy afterwards', async () => {
    assert.equal((await request(app).get('/healthz')).status, 200);
    const ok = await request(app).post('/models/churn/predict').set('content-type', 'text/csv').send('1,2,3');
    assert.equal(ok.status, 200);
  });
});
