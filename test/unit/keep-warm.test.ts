/**
 * The keep-warm scheduler alone, on an injected clock: due only after an interval without
 * activity (jittered early, never late), one call at a time per endpoint, a bounded total
 * rate, nothing while breakers are open, nothing after stop().
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeepWarmScheduler, type KeepWarmOutcome, type KeepWarmTarget } from '../../src/invoke/keep-warm.js';

function harness(options: { targets: Array<{ key: string; endpoint: string; intervalMs: number }>; maxPerSecond?: number; random?: () => number }) {
  let now = 0;
  const activity = new Map<string, number>();
  const paused = new Set<string>();
  const sent: string[] = [];
  const pending = new Map<string, () => void>();
  const outcomes: Array<[string, KeepWarmOutcome]> = [];
  const targets: KeepWarmTarget[] = options.targets.map((t) => ({
    ...t,
    model: t.key,
    warm: () => {
      sent.push(t.key);
      return new Promise<void>((resolve) => pending.set(t.key, resolve));
    },
  }));
  const scheduler = new KeepWarmScheduler({
    targets,
    lastActivityAt: (key) => activity.get(key),
    isPaused: (target) => paused.has(target.key),
    onOutcome: (target, outcome) => outcomes.push([target.key, outcome]),
    maxPerSecond: options.maxPerSecond ?? 100,
    now: () => now,
    random: options.random ?? (() => 0),
  });
  const answer = async (key: string) => {
    pending.get(key)?.();
    pending.delete(key);
    activity.set(key, now);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    scheduler,
    sent,
    outcomes,
    paused,
    answer,
    at: (ms: number) => {
      now = ms;
      scheduler.tick();
    },
    traffic: (key: string) => activity.set(key, now),
  };
}

describe('keep-warm scheduler', () => {
  it('warms a target only after an interval without activity, and traffic postpones it', async () => {
    const h = harness({ targets: [{ key: 'a', endpoint: 'e1', intervalMs: 1000 }] });
    h.at(999);
    assert.deepEqual(h.sent, []);
    h.traffic('a');
    h.at(1500);
    assert.deepEqual(h.sent, [], 'traffic at 999 moved the due time to 1999');
    h.at(1999);
    assert.deepEqual(h.sent, ['a']);
    await h.answer('a');
    assert.deepEqual(h.outcomes, [['a', 'success']]);
    h.at(2500);
    assert.deepEqual(h.sent, ['a'], 'its own answer counts as activity');
    h.at(2999);
    assert.deepEqual(h.sent, ['a', 'a']);
  });

  it('draws each due time early within the jitter, never late', () => {
    const early = harness({ targets: [{ key: 'a', endpoint: 'e1', intervalMs: 1000 }], random: () => 0.999 });
    early.at(899);
    assert.deepEqual(early.sent, [], 'jitter is at most 10 % of the interval');
    early.at(901);
    assert.deepEqual(early.sent, ['a'], 'a draw of 0.999 makes it due from 900.1 ms');
    const late = harness({ targets: [{ key: 'a', endpoint: 'e1', intervalMs: 1000 }], random: () => 0 });
    late.at(999);
    assert.deepEqual(late.sent, []);
    late.at(1000);
    assert.deepEqual(late.sent, ['a']);
  });

  it('sends one keep-warm call at a time per endpoint', async () => {
    const h = harness({
      targets: [
        { key: 'a', endpoint: 'e1', intervalMs: 1000 },
        { key: 'b', endpoint: 'e1', intervalMs: 1000 },
        { key: 'c', endpoint: 'e2', intervalMs: 1000 },
      ],
    });
    h.at(1000);
    assert.deepEqual(h.sent.sort(), ['a', 'c']);
    h.at(1100);
    assert.equal(h.sent.length, 2, 'b waits while a is in flight on e1');
    await h.answer('a');
    h.at(1200);
    assert.deepEqual(h.sent.slice(2), ['b']);
  });

  it('bounds the total rate across endpoints', () => {
    const targets = Array.from({ length: 6 }, (_, i) => ({ key: `m${i}`, endpoint: `e${i}`, intervalMs: 1000 }));
    const h = harness({ targets, maxPerSecond: 2 });
    h.at(1000);
    assert.equal(h.sent.length, 2);
    h.at(1400);
    assert.equal(h.sent.length, 2, 'less than one token refilled');
    h.at(2000);
    assert.equal(h.sent.length, 4);
  });

  it('pauses while breakers are open and reports it once per due time', () => {
    const h = harness({ targets: [{ key: 'a', endpoint: 'e1', intervalMs: 1000 }] });
    h.paused.add('a');
    h.at(1000);
    h.at(1500);
    assert.deepEqual(h.sent, []);
    assert.deepEqual(h.outcomes, [['a', 'paused']]);
    h.paused.delete('a');
    h.at(1600);
    assert.deepEqual(h.sent, ['a']);
  });

  it('counts a failed warm-up and retries only an interval later', async () => {
    let now = 0;
    let calls = 0;
    const outcomes: KeepWarmOutcome[] = [];
    const scheduler = new KeepWarmScheduler({
      targets: [{ key: 'a', endpoint: 'e', model: 'a', intervalMs: 1000, warm: () => (calls++, Promise.reject(new Error('down'))) }],
      lastActivityAt: () => undefined,
      isPaused: () => false,
      onOutcome: (_t, outcome) => outcomes.push(outcome),
      maxPerSecond: 100,
      now: () => now,
      random: () => 0,
    });
    now = 1000;
    scheduler.tick();
    await new Promise((resolve) => setImmediate(resolve));
    now = 1500;
    scheduler.tick();
    assert.equal(calls, 1);
    assert.deepEqual(outcomes, ['failure']);
    now = 2000;
    scheduler.tick();
    assert.equal(calls, 2);
  });

  it('stops: aborts the call in flight, waits for it to unwind and sends nothing more', async () => {
    let now = 0;
    let signalSeen: AbortSignal | undefined;
    let unwound = false;
    const sent: number[] = [];
    const scheduler = new KeepWarmScheduler({
      targets: [
        {
          key: 'a',
          endpoint: 'e',
          model: 'a',
          intervalMs: 1000,
          warm: (signal) => {
            sent.push(now);
            signalSeen = signal;
            // A long cold start that only ends when aborted.
            return new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => setImmediate(() => ((unwound = true), reject(new Error('aborted'))))));
          },
        },
      ],
      lastActivityAt: () => undefined,
      isPaused: () => false,
      onOutcome: () => {},
      maxPerSecond: 100,
      now: () => now,
      random: () => 0,
    });
    now = 1000;
    scheduler.tick();
    assert.equal(signalSeen?.aborted, false);
    await scheduler.stop();
    assert.equal(signalSeen?.aborted, true, 'stop aborted the call in flight');
    assert.equal(unwound, true, 'and waited for it to unwind');
    now = 5000;
    scheduler.tick();
    assert.deepEqual(sent, [1000], 'nothing is sent after stop');
  });
});
