/**
 * expressMessageClasses: the server's requests and responses are born with the app's
 * prototypes, so Express's own Object.setPrototypeOf finds nothing to change; Express still
 * serves them in full, and the same app served by Node's default classes (supertest) keeps
 * working. A child process with V8's natives syntax shows the point of it: requests of one
 * server then share their hidden class.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import express from 'express';
import request from 'supertest';
import { expressMessageClasses } from '../../src/express-messages.js';

const run = promisify(execFile);

function appWithRoute() {
  const app = express();
  app.post('/echo/:name', (req, res) => {
    res.status(201).json({ name: req.params.name, type: req.get('content-type'), app: req.app === app && res.app === app });
  });
  return app;
}

describe('express message classes', () => {
  it('makes requests and responses with the app’s prototypes, which Express then serves in full', async () => {
    const app = appWithRoute();
    const classes = expressMessageClasses(app);
    assert.equal(expressMessageClasses(app), classes, 'one pair of classes per app');
    const server = createServer(classes, app);
    const protoAtArrival: boolean[] = [];
    server.prependListener('request', (req: IncomingMessage, res) => {
      protoAtArrival.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/echo/churn`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '1,2' });
      assert.equal(response.status, 201);
      assert.deepEqual(await response.json(), { name: 'churn', type: 'text/csv', app: true });
      assert.deepEqual(protoAtArrival, [true]);
    } finally {
      server.close();
    }
  });

  it('leaves the app serving Node’s own classes as before', async () => {
    const app = appWithRoute();
    expressMessageClasses(app);
    const response = await request(app).post('/echo/iris').set('content-type', 'application/json').send('{}');
    assert.equal(response.status, 201);
    assert.deepEqual(response.body, { name: 'iris', type: 'application/json', app: true });
  });

  it('gives the requests of one server one hidden class (V8 natives, in a child process)', async () => {
    const probe = fileURLToPath(new URL('../fixtures/hidden-class-probe.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', probe]);
    assert.deepEqual(JSON.parse(stdout), { requestsShareHiddenClass: true, responsesShareHiddenClass: true });
  });
});
