/**
 * Tracing on the real gateway process, exported over OTLP/HTTP to a real receiver in the test
 * process: a cold request's trace (server span, cold-start wait, every InvokeEndpoint attempt
 * with the ModelNotReady ones, backoff events), W3C and X-Ray context in and out, parent-based
 * sampling, the same ids in the access log, breaker and deadline events, and nothing of the
 * request body or API key in any span.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';
import { eventually } from '../helpers/eventually.js';
import { assertMatchesSpec } from '../helpers/openapi-contract.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;
const CHURN_ROW = '12,70.5,3,1,0,1';
const API_KEY = 'tracing-test-key-0123456789';

const hex = (bytes: number) => createHash('sha256').update(String(Math.random())).digest('hex').slice(0, bytes * 2);

describe('OpenTelemetry traces of predictions', () => {
  let receiver: OtlpReceiver;
  let gateway: RunningGateway;

  before(async () => {
    receiver = await startOtlpReceiver();
    gateway = await startGateway({
      ...receiver.exportEnv,
      // Loads take 400 ms and SageMaker answers ModelNotReady after 100 ms: a cold call meets it.
      LOCAL_MME_LOAD_DELAY_MS: '400',
      LOCAL_MME_READY_WAIT_MS: '100',
      NOT_READY_RETRY_BASE_MS: '20',
      NOT_READY_RETRY_MAX_MS: '50',
      BREAKER_VOLUME_THRESHOLD: '2',
      API_KEYS: JSON.stringify({ keys: [{ id: 'tracer', sha256: createHash('sha256').update(API_KEY).digest('hex'), models: ['*'] }] }),
    });
  });
  after(async () => {
    await gateway?.stop();
    await receiver?.close();
  });

  const predict = (model: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${API_KEY}`, ...headers },
      body: CHURN_ROW,
    });
  const traceOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const serverSpanOf = async (traceId: string): Promise<ReceivedSpan> => {
    await receiver.waitFor(`the server span of ${traceId}`, () => traceOf(traceId).some((span) => span.kind === SERVER));
    return traceOf(traceId).find((span) => span.kind === SERVER)!;
  };
  // The line is written when the response closes, which can be just after the client has it.
  const accessLine = (requestId: string | null) =>
    gateway.waitForLog((line) => line['message'] === 'request' && line['requestId'] === requestId);

  it('records a cold request as one trace: server span, cold-start wait, every attempt with the ModelNotReady ones', async () => {
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const probe = predict('churn', { traceparent: `00-${traceId}-${callerSpanId}-01`, tracestate: 'caller=1' });
    // A second caller arrives while the first one is loading the model: it waits at the gate.
    await eventually('the first caller to meet ModelNotReady', async () => {
      const report = (await (await fetch(`${gateway.url}/models/churn`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { state: string };
      return report.state === 'loading' ? true : undefined;
    });
    const waiterTraceId = hex(16);
    const waiter = predict('churn', { traceparent: `00-${waiterTraceId}-${hex(8)}-01` });
    const [probeResponse, waiterResponse] = await Promise.all([probe, waiter]);
    assert.equal(probeResponse.status, 200, await probeResponse.text());
    assert.equal(waiterResponse.status, 200, await waiterResponse.text());

    const server = await serverSpanOf(traceId);
    const spans = traceOf(traceId);
    assert.equal(server.name, 'POST /models/{model}/predict');
    assert.equal(server.parentSpanId, callerSpanId, "the server span is the caller's span's child");
    assert.equal(server.resource['service.name'], 'mme-gateway');
    assert.deepEqual(
      { status: server.attributes['http.response.status_code'], route: server.attributes['http.route'], start: server.attributes['mme.start'], model: server.attributes['mme.model'] },
      { status: 200, route: '/models/{model}/predict', start: 'cold', model: 'churn' },
    );

    const waits = spans.filter((span) => span.name === 'cold-start wait');
    assert.equal(waits.length, 1);
    assert.equal(waits[0]!.parentSpanId, server.spanId);
    assert.deepEqual(
      { result: waits[0]!.attributes['mme.cold_start.result'], state: waits[0]!.attributes['mme.model.state'], target: waits[0]!.attributes['mme.target_model'] },
      { result: 'probe', state: 'unknown', target: 'churn.tar.gz' },
    );
    assert.equal(server.attributes['mme.cold_start.reason'], 'not_ready', 'cold by evidence: it met ModelNotReadyException');

    const attempts = spans.filter((span) => span.kind === CLIENT).sort((a, b) => Number(a.attributes['mme.attempt']) - Number(b.attributes['mme.attempt']));
    assert.ok(attempts.length >= 2, `a cold start shows ModelNotReady attempts, got ${attempts.length} attempt(s)`);
    assert.equal(server.attributes['mme.attempts'], attempts.length);
    attempts.forEach((attempt, index) => {
      assert.equal(attempt.name, 'SageMaker Runtime/InvokeEndpoint');
      assert.equal(attempt.parentSpanId, server.spanId);
      assert.deepEqual(
        [attempt.attributes['rpc.system'], attempt.attributes['rpc.service'], attempt.attributes['rpc.method'], attempt.attributes['mme.endpoint'], attempt.attributes['mme.target_model']],
        ['aws-api', 'SageMaker Runtime', 'InvokeEndpoint', 'local-mme', 'churn.tar.gz'],
      );
      assert.equal(attempt.attributes['mme.attempt'], index + 1);
      const last = index === attempts.length - 1;
      assert.equal(attempt.attributes['mme.outcome'], last ? 'success' : 'not_ready');
      if (!last) {
        assert.equal(attempt.attributes['error.type'], 'ModelNotReadyException');
        assert.equal(attempt.status.code, STATUS_ERROR);
      } else {
        assert.equal(typeof attempt.attributes['aws.request_id'], 'string');
      }
    });
    const backoffs = server.events.filter((event) => event.name === 'backoff');
    assert.equal(backoffs.length, attempts.length - 1, 'one backoff sleep between two attempts');
    for (const backoff of backoffs) assert.equal(backoff.attributes['mme.backoff.after'], 'not_ready');

    // Context out: the caller learns the server span; tracestate comes back as it went in.
    assert.equal(probeResponse.headers.get('traceparent'), `00-${traceId}-${server.spanId}-01`);
    assert.equal(probeResponse.headers.get('tracestate'), 'caller=1');
    // The access-log line carries the same ids.
    const line = await accessLine(probeResponse.headers.get('x-request-id'));
    assert.equal(line['trace_id'], traceId);
    assert.equal(line['span_id'], server.spanId);

    // The second caller's trace shows the wait for the first caller's load, then one attempt.
    const waiterServer = await serverSpanOf(waiterTraceId);
    const waiterWait = traceOf(waiterTraceId).find((span) => span.name === 'cold-start wait');
    assert.equal(waiterWait?.attributes['mme.cold_start.result'], 'released');
    assert.equal(waiterServer.attributes['mme.cold_start.reason'], 'waited');
    assert.equal(waiterWait?.parentSpanId, waiterServer.spanId);
    assert.ok(waiterWait!.endNs > waiterWait!.startNs, 'the wait took time');
    assert.deepEqual(traceOf(waiterTraceId).filter((span) => span.kind === CLIENT).map((span) => span.attributes['mme.outcome']), ['success']);

    // Never the body, never the key.
    const everything = JSON.stringify(receiver.spans, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
    assert.ok(!everything.includes(CHURN_ROW), 'no request body in spans');
    assert.ok(!everything.includes(API_KEY), 'no API key in spans');
  });

  it('starts a new trace when the caller sends none, and says so in the response and the log', async () => {
    const response = await predict('churn');
    assert.equal(response.status, 200);
    const [, traceId, spanId, flags] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(\d\d)$/.exec(response.headers.get('traceparent') ?? '') ?? [];
    assert.ok(traceId, 'a traceparent response header');
    assert.equal(flags, '01');
    const server = await serverSpanOf(traceId);
    assert.equal(server.parentSpanId, undefined, 'a root span');
    assert.equal(server.spanId, spanId);
    assert.equal((await accessLine(response.headers.get('x-request-id')))['trace_id'], traceId);
  });

  it('continues an AWS X-Ray trace (X-Amzn-Trace-Id) and returns the header', async () => {
    const traceId = hex(16);
    const parent = hex(8);
    const response = await predict('churn', { 'x-amzn-trace-id': `Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=${parent};Sampled=1` });
    assert.equal(response.status, 200);
    const server = await serverSpanOf(traceId);
    assert.equal(server.parentSpanId, parent);
    assert.equal(response.headers.get('x-amzn-trace-id'), `Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=${server.spanId};Sampled=1`);
    // The trace headers as openapi.yaml documents them.
    assertMatchesSpec('post', '/models/{model}/predict', { status: response.status, headers: response.headers, text: await response.text() });
  });

  it("honours the caller's decision not to sample (parent-based): no spans, ids still logged", async () => {
    const unsampled = hex(16);
    const response = await predict('churn', { traceparent: `00-${unsampled}-${hex(8)}-00` });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('traceparent') ?? '', new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
    assert.equal((await accessLine(response.headers.get('x-request-id')))['trace_id'], unsampled);
    // Spans leave in the order they end: once a later sampled request's spans arrived, none of these will.
    const later = hex(16);
    assert.equal((await predict('churn', { traceparent: `00-${later}-${hex(8)}-01` })).status, 200);
    await serverSpanOf(later);
    assert.deepEqual(traceOf(unsampled), []);
  });

  it("records the caller's deadline expiring as an event on the server span", async () => {
    const traceId = hex(16);
    // iris is still cold: its 400 ms load cannot finish inside a 150 ms deadline.
    const response = await predict('iris', { traceparent: `00-${traceId}-${hex(8)}-01`, 'x-request-timeout-ms': '150' });
    assert.equal(response.status, 503);
    const server = await serverSpanOf(traceId);
    assert.equal(server.status.code, STATUS_ERROR);
    assert.equal(server.attributes['error.type'], 'MODEL_NOT_READY');
    assert.deepEqual(
      server.events.filter((event) => event.name === 'deadline expired').map((event) => event.attributes['mme.reason']),
      ['caller'],
    );
  });

  it('records a circuit breaker rejection as an event with its reason', async () => {
    const put = await fetch(`${gateway.localMmeUrl}/_local/faults`, {
      method: 'PUT',
      body: JSON.stringify({ models: { 'house-prices.tar.gz': { errorRates: { ModelError: 1 }, modelErrorStatus: 500 } } }),
    });
    assert.equal(put.status, 200);
    let rejected: Response | undefined;
    let traceId = '';
    // BREAKER_VOLUME_THRESHOLD=2: the model breaker opens after two failing calls.
    for (let call = 0; call < 5 && !rejected; call++) {
      traceId = hex(16);
      const response = await predict('house-prices', { traceparent: `00-${traceId}-${hex(8)}-01` });
      const body = (await response.json()) as { code: string };
      if (body.code === 'CIRCUIT_OPEN') rejected = response;
      else assert.equal(body.code, 'MODEL_ERROR');
    }
    assert.ok(rejected, 'the breaker opened');
    const server = await serverSpanOf(traceId);
    const events = server.events.filter((event) => event.name === 'circuit breaker rejected');
    assert.equal(events.length, 1);
    assert.match(String(events[0]!.attributes['mme.reason']), /circuit breaker for model "house-prices" is open/);
    assert.deepEqual(traceOf(traceId).filter((span) => span.kind === CLIENT), [], 'nothing was sent upstream');
  });
});
