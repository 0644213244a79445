/**
 * The OpenTelemetry SDK reports export failures and dropped spans through its `diag` logger.
 * They belong in the gateway's log, but a collector that is down would otherwise add a line
 * (with a stack) per export attempt: each kind of message is logged once per interval, with
 * the number of repeats it stood for, and as a warning, since predictions are unaffected.
 */
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { Logger } from '../logger.js';

/** One line per kind of tracing problem per minute is enough to notice it and not drown the log. */
const REPEAT_INTERVAL_MS = 60_000;
const MAX_MESSAGE_CHARS = 300;

export function logOpenTelemetryDiagnostics(logger: Logger, now: () => number = Date.now): void {
  const lastLogged = new Map<string, { at: number; repeats: number }>();
  const report = (raw: string) => {
    const message = summarize(raw);
    // Counts and addresses vary between repeats of the same problem.
    const kind = message.replace(/\d+/g, '#');
    const seen = lastLogged.get(kind);
    if (seen && now() - seen.at < REPEAT_INTERVAL_MS) {
      seen.repeats++;
      return;
    }
    if (lastLogged.size > 100) lastLogged.clear(); // messages are few; never let the map grow
    lastLogged.set(kind, { at: now(), repeats: 0 });
    logger.warn(`tracing: ${message}`, { repeatsSinceLastLine: seen?.repeats ?? 0 });
  };
  const diagLogger: DiagLogger = { error: report, warn: report, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(diagLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

/** The SDK hands errors over as JSON (with a stack); the message says enough. */
function summarize(raw: string): string {
  let message = raw;
  try {
    const parsed = JSON.parse(raw) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: a plain message
  }
  return message.slice(0, MAX_MESSAGE_CHARS);
}
