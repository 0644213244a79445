/**
 * Log lines are batched into one stdout write per event-loop turn (src/stdout-lines.ts) and
 * nothing is lost or reordered: a real process logs a burst, then one line right before
 * process.exit, and every line arrives whole and in order.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../fixtures/log-burst.ts', import.meta.url));

function runBurst(count: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script, String(count)], (error, stdout, stderr) => {
      resolve({ code: error ? (error as { code?: number }).code ?? null : 0, stdout, stderr });
    });
  });
}

describe('stdout log lines', () => {
  it('writes a turn of log lines at once, whole and in order, and flushes on process.exit', async () => {
    const { code, stdout, stderr } = await runBurst(500);
    assert.equal(code, 3);
    assert.deepEqual(JSON.parse(stderr.trim()), { writes: 1 });
    const lines = stdout.split('\n');
    assert.equal(lines.pop(), '', 'output ends with a newline');
    assert.equal(lines.length, 501);
    const records = lines.map((line) => JSON.parse(line) as { i: number; message: string; level: string; service: string });
    assert.deepEqual(records.map((r) => r.i), Array.from({ length: 501 }, (_, i) => i));
    assert.equal(records[500]!.message, 'last words');
    assert.ok(records.every((r) => r.level === 'info' && r.service === 'mme-gateway'));
  });
});
