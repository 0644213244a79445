/**
 * The gateway's log line format (src/logger.ts): one JSON object a line with the service, level,
 * message and timestamp; a value JSON.stringify refuses (a cycle, a BigInt) still gives one
 * valid line instead of a thrown error.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import winston from 'winston';
import { createLogger } from '../../src/logger.js';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const logger = createLogger('info').clear().add(new winston.transports.Stream({ stream }));
  return { logger, lines };
}

describe('log lines', () => {
  it('writes one JSON object a line with the fields set, the service, level and timestamp', () => {
    const { logger, lines } = capture();
    logger.info({ message: 'request', requestId: 'r-1', status: 200, latencyMs: 1.5 });
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual({ ...line, timestamp: typeof line['timestamp'] }, {
      message: 'request',
      requestId: 'r-1',
      status: 200,
      latencyMs: 1.5,
      level: 'info',
      service: 'mme-gateway',
      timestamp: 'string',
    });
    assert.ok(!Number.isNaN(Date.parse(String(line['timestamp']))));
  });

  it('still writes one valid line for a cycle or a BigInt', () => {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    logger.warn('odd values', { cyclic, big: 12345678901234567890n });
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line['message'], 'odd values');
    assert.equal(line['big'], '12345678901234567890');
    assert.deepEqual(line['cyclic'], { name: 'loop', self: '[Circular]' });
  });
});
