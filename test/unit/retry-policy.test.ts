import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget, backoffDelayMs } from '../../src/invoke/retry-policy.js';

describe('backoff', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    assert.equal(backoffDelayMs(0, 100, 5000, () => 0.999), 99);
    assert.equal(backoffDelayMs(3, 100, 5000, () => 0.5), 400);
    assert.equal(backoffDelayMs(20, 100, 5000, () => 0.5), 2500);
    assert.equal(backoffDelayMs(5, 100, 5000, () => 0), 0);
  });
});

describe('retry budget', () => {
  it('allows the reserve, then only the configured fraction of requests', () => {
    const budget = new RetryBudget(10, 2, 100);
    assert.equal(budget.tryRetry(), true);
    assert.equal(budget.tryRetry(), true);
    assert.equal(budget.tryRetry(), false);
    let retries = 0;
    for (let i = 0; i < 1000; i++) {
      budget.recordRequest();
      if (budget.tryRetry()) retries++;
    }
    assert.ok(retries >= 99 && retries <= 100, `retries ${retries}`);
  });

  it('never retries with a zero budget', () => {
    const budget = new RetryBudget(0);
    budget.recordRequest();
    assert.equal(budget.tryRetry(), false);
  });
});
