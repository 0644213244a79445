import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { ColdStartGate } from '../../src/invoke/cold-start-gate.js';
import { GatewayError, gatewayError } from '../../src/errors.js';

const timeout = () => gatewayError('MODEL_NOT_READY', 'timed out');
const callerGone = (e: unknown) => e instanceof GatewayError && e.code === 'CLIENT_CLOSED_REQUEST' && e.status === 499;

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
    // The expectation is attached before anything else runs, so the rejection is never unhandled.
    const timedOut = assert.rejects(gate.enter('m', 20, timeout), (e: unknown) => e instanceof GatewayError && e.code === 'MODEL_NOT_READY');
    await assert.rejects(gate.enter('m', 1000, timeout), (e: unknown) => e instanceof GatewayError && e.code === 'QUEUE_FULL');
    await timedOut;
    assert.equal(gate.waiting('m'), 0);
    gate.failed('m');
    assert.equal(gate.activeModels, 0);
  });

  it('keeps models independent', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 1 });
    assert.equal(await gate.enter('a', 1000, timeout), 'probe');
    assert.equal(await gate.enter('b', 1000, timeout), 'probe');
  });

  it('lets a waiter whose caller leaves out of the queue at once, and never releases it', async () => {
    let depth = 0;
    const gate = new ColdStartGate({ maxWaitersPerModel: 2, onDepthChange: (_key, delta) => (depth += delta) });
    await gate.enter('m', 60_000, timeout);
    const callers = [new AbortController(), new AbortController()];
    const waiters = callers.map((caller) => gate.enter('m', 60_000, timeout, caller.signal));
    assert.equal(gate.waiting('m'), 2);
    assert.equal(depth, 2);
    callers[0]!.abort();
    await assert.rejects(waiters[0]!, callerGone);
    assert.equal(gate.waiting('m'), 1, 'the departed caller no longer holds a place');
    assert.equal(depth, 1);
    // Its place is free again: a new caller is queued, not refused with QUEUE_FULL.
    const live = gate.enter('m', 60_000, timeout);
    assert.equal(gate.waiting('m'), 2);
    gate.succeeded('m');
    assert.deepEqual(await Promise.all([waiters[1]!, live]), ['released', 'released']);
    assert.equal(depth, 0);
    for (const caller of callers) assert.equal(getEventListeners(caller.signal, 'abort').length, 0, 'no listener left behind');
  });

  it('refuses a caller already gone without making it the probe', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 10 });
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(gate.enter('m', 1000, timeout, gone.signal), callerGone);
    assert.equal(gate.activeModels, 0, 'no probe slot was taken');
    assert.equal(await gate.enter('m', 1000, timeout), 'probe');
  });

  it('hands the probe role to a waiter still there when the probe leaves, skipping those who left', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 10 });
    await gate.enter('m', 60_000, timeout);
    const left = new AbortController();
    const departed = gate.enter('m', 60_000, timeout, left.signal);
    const stays = gate.enter('m', 60_000, timeout, new AbortController().signal);
    left.abort();
    await assert.rejects(departed, callerGone);
    gate.failed('m'); // what the invoker does when the probe's caller leaves
    assert.equal(await stays, 'probe');
    assert.equal(gate.waiting('m'), 0);
    gate.failed('m');
    assert.equal(gate.activeModels, 0, 'the last probe leaving frees the model');
  });

  it('stops listening to the signal once the wait ends by timeout', async () => {
    const gate = new ColdStartGate({ maxWaitersPerModel: 10 });
    await gate.enter('m', 60_000, timeout);
    const caller = new AbortController();
    await assert.rejects(gate.enter('m', 5, timeout, caller.signal), (e: unknown) => e instanceof GatewayError && e.code === 'MODEL_NOT_READY');
    assert.equal(getEventListeners(caller.signal, 'abort').length, 0);
    caller.abort(); // a late departure changes nothing
    assert.equal(gate.waiting('m'), 0);
  });
});
