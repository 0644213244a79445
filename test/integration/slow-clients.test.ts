/**
 * Slow and oversized clients against the real gateway process, over raw TCP: a half-sent
 * request is cut off near REQUEST_RECEIVE_TIMEOUT_MS, oversized headers get 431, a connection
 * serves a bounded number of requests, and none of it reaches upstream or hurts other callers.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, metricValue, startGateway } from '../helpers/gateway-process.js';

const RECEIVE_TIMEOUT_MS = 1_000;

/** Opens a raw connection, writes `data`, and resolves with everything read until the server closes. */
function rawExchange(url: string, data: string, options: { keepWriting?: (socket: Socket) => void } = {}) {
  const { port } = new URL(url);
  return new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
    const startedAt = Date.now();
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(data);
      options.keepWriting?.(socket);
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {}); // a reset is one of the outcomes under test
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - startedAt }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the gateway held a half-sent request for 10 s'));
    }, 10_000).unref();
  });
}

describe('slow and oversized clients', () => {
  let gateway: RunningGateway;
  before(async () => {
    gateway = await startGateway({
      LOCAL_MME_LOAD_DELAY_MS: '0',
      REQUEST_RECEIVE_TIMEOUT_MS: String(RECEIVE_TIMEOUT_MS),
      KEEP_ALIVE_TIMEOUT_MS: '1000',
      HEADERS_TIMEOUT_MS: '1500',
      MAX_REQUESTS_PER_SOCKET: '3',
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('cuts off a client that never finishes its headers', async () => {
    const { text, closedAfterMs } = await rawExchange(gateway.url, 'POST /models/churn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n');
    assert.ok(closedAfterMs < RECEIVE_TIMEOUT_MS + 2_500, `closed after ${closedAfterMs} ms`);
    assert.ok(text === '' || text.startsWith('HTTP/1.1 408'), text);
  });

  it('cuts off a client that stops sending its body, without calling upstream', async () => {
    const { text, closedAfterMs } = await rawExchange(
      gateway.url,
      'POST /models/churn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n12,70',
    );
    assert.ok(closedAfterMs < RECEIVE_TIMEOUT_MS + 2_500, `closed after ${closedAfterMs} ms`);
    assert.ok(!text.startsWith('HTTP/1.1 200'), text);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'mme_gateway_upstream_requests_total'), 0);
  });

  it('answers 431 to oversized headers', async () => {
    const { text } = await rawExchange(gateway.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431/);
  });

  it('closes a keep-alive connection after MAX_REQUESTS_PER_SOCKET requests', async () => {
    const get = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const { text } = await rawExchange(gateway.url, get.repeat(4));
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    assert.deepEqual(statuses.slice(0, 3), ['200', '200', '200'], text);
    assert.match(text, /connection: close/i);
    assert.notEqual(statuses[3], '200', 'the fourth request on the socket is not served');
  });

  it('still serves everyone else', async () => {
    const response = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
    assert.equal(response.status, 200, await response.text());
  });
});
