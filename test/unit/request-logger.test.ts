/**
 * Every line a request writes carries its request id: the access line and the error
 * handler's line both go through the request's child logger (http/request-context.ts).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import winston from 'winston';
import { accessLog } from '../../src/http/access-log.js';
import { errorHandler } from '../../src/http/problem.js';
import { locals, requestContext } from '../../src/http/request-context.js';
import { createLogger } from '../../src/logger.js';
import { GatewayMetrics } from '../../src/metrics.js';
import { eventually } from '../helpers/eventually.js';

describe('request logger', () => {
  it('puts the request id on every line of the request, the error handler included', async () => {
    const stream = new PassThrough();
    const lines: Array<Record<string, unknown>> = [];
    stream.on('data', (chunk: Buffer) => lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>));
    const logger = createLogger('debug').clear().add(new winston.transports.Stream({ stream }));
    const app = express();
    app.use(requestContext(logger));
    app.use(accessLog(new GatewayMetrics(10)));
    app.get('/boom', (_req, res) => {
      locals(res).logger.debug('about to fail');
      throw new Error('a bug');
    });
    app.use(errorHandler());

    const response = await request(app).get('/boom').set('x-request-id', 'req-42');
    assert.equal(response.status, 500);
    // The access line is written when the server side of the response closes, which may follow the client's read.
    await eventually('the access line', () => lines.find((line) => line['message'] === 'request'));
    const messages = lines.map((line) => [line['message'], line['requestId']]);
    assert.deepEqual(messages, [
      ['about to fail', 'req-42'],
      ['unhandled error', 'req-42'],
      ['request', 'req-42'],
    ]);
  });
});
