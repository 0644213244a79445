/**
 * Slow and oversized clients against the real gateway process, over raw TCP, each setting
 * tested alone with every other at its default: a request whose headers or body do not arrive
 * within REQUEST_RECEIVE_TIMEOUT_MS is cut off then (plus Node's 1 s check for headers) with
 * 408, an idle keep-alive connection closes after KEEP_ALIVE_TIMEOUT_MS, oversized headers get
 * 431, a connection serves MAX_REQUESTS_PER_SOCKET requests. (HEADERS_TIMEOUT_MS must exceed
 * KEEP_ALIVE_TIMEOUT_MS, so it cannot be lowered alone; it never binds while it is above
 * REQUEST_RECEIVE_TIMEOUT_MS, see docs/reliability.md.) None of it reaches upstream, and
 * the access log and http_requests_total record exactly the status the client received (499
 * when it received nothing).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';
import { rawExchange } from '../helpers/raw-http.js';

const SHORT_MS = 1_000;
/** Node looks for expired headers every second; the rest is a busy CI machine's scheduling. */
const CHECK_AND_SLACK_MS = 1_000 + 1_500;

const predictHead = (headers: string) => `POST /models/churn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n${headers}\r\n`;

async function logLine(gateway: RunningGateway, requestId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const line = gateway.logs.find((entry) => entry['requestId'] === requestId && entry['message'] === 'request');
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no access-log line for ${requestId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const metricsOf = async (gateway: RunningGateway) => (await fetch(`${gateway.url}/metrics`)).text();

describe('REQUEST_RECEIVE_TIMEOUT_MS alone', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '0', REQUEST_RECEIVE_TIMEOUT_MS: String(SHORT_MS) });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('cuts off a client that never finishes its headers', async () => {
    const { text, closedAfterMs } = await rawExchange(gateway.url, 'POST /models/churn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n');
    assert.ok(closedAfterMs >= SHORT_MS - 50 && closedAfterMs < SHORT_MS + CHECK_AND_SLACK_MS, `closed after ${closedAfterMs} ms`);
    assert.match(text, /^HTTP\/1\.1 408 /);
  });

  it('answers 408 REQUEST_TIMEOUT to a body that stops, at the limit, and logs and counts 408', async () => {
    const { text, answeredAfterMs, closedAfterMs } = await rawExchange(gateway.url, predictHead('Content-Length: 100\r\nX-Request-Id: stalled-body\r\n') + '12,70');
    assert.match(text, /^HTTP\/1\.1 408 /, text);
    assert.match(text, /"code":"REQUEST_TIMEOUT"/);
    assert.ok(answeredAfterMs! >= SHORT_MS - 50 && answeredAfterMs! < SHORT_MS + CHECK_AND_SLACK_MS, `answered after ${answeredAfterMs} ms`);
    assert.ok(closedAfterMs < SHORT_MS + CHECK_AND_SLACK_MS, `closed after ${closedAfterMs} ms`);
    const line = await logLine(gateway, 'stalled-body');
    assert.equal(line['status'], 408);
    assert.equal(line['code'], 'REQUEST_TIMEOUT');
    const metrics = await metricsOf(gateway);
    assert.equal(metricValue(metrics, 'mme_gateway_http_requests_total', { route: '/models/{model}/predict', status: '408' }), 1);
    assert.equal(metricValue(metrics, 'mme_gateway_http_requests_total', { status: '413' }), 0);
  });

  it('bounds the whole body, not the pauses: a steady trickle is cut at the limit too', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { text, answeredAfterMs } = await rawExchange(gateway.url, predictHead('Content-Length: 1000\r\n'), {
      keepWriting: (socket) => {
        timer = setInterval(() => socket.writable && socket.write('1'), 100);
        socket.once('close', () => clearInterval(timer));
      },
    });
    assert.match(text, /^HTTP\/1\.1 408 /, text);
    assert.ok(answeredAfterMs! < SHORT_MS + CHECK_AND_SLACK_MS, `answered after ${answeredAfterMs} ms`);
  });

  it('cuts a stalled chunked body and a stalled body on the wire route alike', async () => {
    const chunked = await rawExchange(gateway.url, predictHead('Transfer-Encoding: chunked\r\n') + '5\r\n12,70\r\n');
    assert.match(chunked.text, /^HTTP\/1\.1 408 /, chunked.text);
    const wire = await rawExchange(
      gateway.url,
      'POST /endpoints/local-mme/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nX-Amzn-SageMaker-Target-Model: churn.tar.gz\r\nContent-Length: 100\r\n\r\n12,70',
    );
    // SageMaker's encoding: a ValidationError, with the gateway's own code alongside.
    assert.match(wire.text, /^HTTP\/1\.1 400 /, wire.text);
    assert.match(wire.text, /x-gateway-error-code: REQUEST_TIMEOUT/i);
    assert.ok(wire.answeredAfterMs! < SHORT_MS + CHECK_AND_SLACK_MS);
  });

  it('answers a declared length over the limit with 413 at once, whatever arrives after, and logs 413', async () => {
    const { text, answeredAfterMs } = await rawExchange(gateway.url, predictHead(`Content-Length: ${7 * 1024 * 1024}\r\nX-Request-Id: declared-7mib\r\n`) + '0123456789');
    assert.match(text, /^HTTP\/1\.1 413 /, text);
    assert.ok(answeredAfterMs! < SHORT_MS, `answered after ${answeredAfterMs} ms`);
    const line = await logLine(gateway, 'declared-7mib');
    assert.equal(line['status'], 413);
  });

  it('logs and counts 499 CLIENT_CLOSED_REQUEST when the client leaves before any answer', async () => {
    await rawExchange(gateway.url, predictHead('Content-Length: 100\r\nX-Request-Id: left-mid-body\r\n') + '12,70', {
      keepWriting: (socket) => setTimeout(() => socket.destroy(), 200),
    });
    const line = await logLine(gateway, 'left-mid-body');
    assert.equal(line['status'], 499);
    assert.equal(line['code'], 'CLIENT_CLOSED_REQUEST');
    const metrics = await metricsOf(gateway);
    assert.equal(metricValue(metrics, 'mme_gateway_http_requests_total', { route: '/models/{model}/predict', status: '499' }), 1);
  });

  it('answers a body that breaks HTTP framing mid-way through the response in flight, and logs that status', async () => {
    const { text } = await rawExchange(gateway.url, predictHead('Transfer-Encoding: chunked\r\nX-Request-Id: bad-chunk\r\n') + '5\r\n12,70\r\nzz\r\n');
    assert.match(text, /^HTTP\/1\.1 400 /, text);
    assert.match(text, /"code":"INVALID_REQUEST"/);
    assert.equal((await logLine(gateway, 'bad-chunk'))['status'], 400);
  });

  it('sent nothing upstream and still serves everyone else', async () => {
    assert.equal(metricValue(await metricsOf(gateway), 'mme_gateway_upstream_requests_total'), 0);
    const response = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
    assert.equal(response.status, 200, await response.text());
  });
});

describe('KEEP_ALIVE_TIMEOUT_MS alone', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '0', KEEP_ALIVE_TIMEOUT_MS: String(SHORT_MS) });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('closes an idle keep-alive connection after the timeout, not before', async () => {
    const { text, closedAfterMs } = await rawExchange(gateway.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.ok(closedAfterMs >= SHORT_MS - 50 && closedAfterMs < SHORT_MS + CHECK_AND_SLACK_MS, `closed after ${closedAfterMs} ms`);
  });
});

describe('MAX_REQUESTS_PER_SOCKET alone, and MAX_HEADER_BYTES at its default', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '0', MAX_REQUESTS_PER_SOCKET: '3' });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('answers 431 to headers over 16 KiB', async () => {
    const { text } = await rawExchange(gateway.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431/);
  });

  it('closes a keep-alive connection after MAX_REQUESTS_PER_SOCKET requests', async () => {
    const get = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    // Node answers the request past the limit with 503 and Connection: close, and leaves the
    // closing to the client (as an ALB does on seeing that header).
    const { text } = await rawExchange(gateway.url, get.repeat(4), { until: (read) => read.split('HTTP/1.1 ').length > 4 && read.slice(read.lastIndexOf('HTTP/1.1 ')).includes('\r\n\r\n') });
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    assert.deepEqual(statuses.slice(0, 3), ['200', '200', '200'], text);
    assert.match(text, /connection: close/i);
    assert.notEqual(statuses[3], '200', 'the fourth request on the socket is not served');
  });
});
