/**
 * gatheredExchange against a real node:http server: the answer gathered from several chunks with
 * its status and headers; a signal that has already fired sends nothing; one that fires while
 * the request waits for a connection stops it before it is sent; one that fires mid-answer
 * closes the connection (the server sees it go) and rejects.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { gatheredExchange } from '../../src/invoke/gathered-exchange.js';
import { eventually } from '../helpers/eventually.js';

describe('gathered exchange', () => {
  const received: string[] = [];
  const closedEarly: string[] = [];
  let origin = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    received.push(req.url ?? '');
    res.once('close', () => {
      if (!res.writableFinished) closedEarly.push(req.url ?? '');
    });
    req.resume();
    req.once('end', () => {
      res.writeHead(207, { 'content-type': 'text/csv', 'x-extra': 'yes' });
      res.write('0.1,');
      if (req.url === '/stall') return; // never finishes: the client must abort
      setTimeout(() => res.end('0.2'), 10);
    });
  });
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('gathers the answer, its status and headers', async () => {
    const dispatcher = new Agent();
    const answer = await gatheredExchange(dispatcher, { origin, path: '/ok', method: 'POST', body: 'x', headers: { 'content-type': 'text/csv' } }, new AbortController().signal);
    assert.equal(answer.statusCode, 207);
    assert.equal(answer.headers['content-type'], 'text/csv');
    assert.equal(answer.headers['x-extra'], 'yes');
    assert.equal(answer.body.toString(), '0.1,0.2');
    await dispatcher.close();
  });

  it('sends nothing when the signal has already fired', async () => {
    const dispatcher = new Agent();
    const reason = new Error('gone');
    await assert.rejects(gatheredExchange(dispatcher, { origin, path: '/never', method: 'POST', body: 'x' }, AbortSignal.abort(reason)), (error) => error === reason);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(!received.includes('/never'));
    await dispatcher.close();
  });

  it('stops a request still waiting for a connection before it is sent', async () => {
    const dispatcher = new Agent({ connections: 1 });
    const busy = new AbortController();
    const first = gatheredExchange(dispatcher, { origin, path: '/stall', method: 'POST', body: 'x' }, busy.signal);
    const waiting = new AbortController();
    const second = gatheredExchange(dispatcher, { origin, path: '/queued', method: 'POST', body: 'x' }, waiting.signal);
    await eventually('the first request at the server', () => received.includes('/stall'));
    waiting.abort(new Error('left while queued'));
    busy.abort(new Error('left mid-answer'));
    await assert.rejects(first, /left mid-answer/);
    await assert.rejects(second, /left while queued/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(!received.includes('/queued'));
    await eventually('the server sees the stalled answer cut', () => closedEarly.includes('/stall'));
    await dispatcher.close();
  });
});
