/**
 * Waiting on evidence instead of a fixed sleep: a test that sleeps "long enough" for another
 * process or a timer races it, and loses on a busy machine. `eventually` retries a check until
 * it yields a value (anything but undefined or false), and fails with what it waited for at the
 * deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${String(lastError)}`);
    await sleep(intervalMs);
  }
}
