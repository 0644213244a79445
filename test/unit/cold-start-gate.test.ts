import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ColdStartGate } from '../../src/invoke/cold-start-gate.js';
import { GatewayError, gatewayError } from '../../src/errors.js';

const timeout = () => gatewayError('MODEL_NOT_READY', 'timed out');

describe('cold-start gate', () => {
  it('makes the first caller the probe and releases the waiters when it succeeds', async () => {
    let depth = 0;
    const gate = new ColdStartGate({ maxWaitersPerModel: 10, onDepthChange: (_key, delta) => (depth += delta) });
    assert.equal(await gate.enter('m', 1000, timeout), 'probe');
    const waiters = [gate.enter('m', 1000, timeout), gate.enter('m', 1000, timeout)];
    assert.equal(gate.waiting('m'), 2);
    assert.equal(depth, 2);
    gate.succeeded('m');
    assert.deepEqual(await Promise.all(waiters), ['released', 'released']);
    assert.equal(depth, 0);
    assert.equal(gate.activeModels, 0);
  });

  it('hands the probe role to the next waiter when the probe fails', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 10 });
    await gate.enter('m', 1000, timeout);
    const second = gate.enter('m', 1000, timeout);
    const third = gate.enter('m', 1000, timeout);
    gate.failed('m');
    assert.equal(await second, 'probe');
    assert.equal(gate.waiting('m'), 1);
    gate.succeeded('m');
    assert.equal(await third, 'released');
  });

  it('rejects with QUEUE_FULL beyond the bound and with the timeout error after the wait', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 1 });
    await gate.enter('m', 1000, timeout);
    const waiting = gate.enter('m', 20, timeout);
    await assert.rejects(gate.enter('m', 1000, timeout), (e: unknown) => e instanceof GatewayError && e.code === 'QUEUE_FULL');
    await assert.rejects(waiting, (e: unknown) => e instanceof GatewayError && e.code === 'MODEL_NOT_READY');
    assert.equal(gate.waiting('m'), 0);
    gate.failed('m');
    assert.equal(gate.activeModels, 0);
  });

  it('keeps models independent', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 1 });
    assert.equal(await gate.enter('a', 1000, timeout), 'probe');
    assert.equal(await gate.enter('b', 1000, timeout), 'probe');
  });
});
