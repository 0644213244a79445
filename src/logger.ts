/**
 * winston, JSON lines on stdout (what CloudWatch Logs and the awslogs driver expect). Each
 * request logs through a child logger that carries its request id (made in
 * http/request-context.ts), so every line of one request can be found with one filter.
 * Request bodies and headers are never logged.
 */
import winston from 'winston';
import TransportStream from 'winston-transport';
import { writeLine } from './stdout-lines.js';

export type Logger = winston.Logger;

/** winston's formatted line (triple-beam's MESSAGE symbol). */
const MESSAGE = Symbol.for('message');

/** winston's Console transport, minus one stdout write (a system call) and one timer per line. */
class StdoutLines extends TransportStream {
  override log(info: Record<symbol, unknown>, next: () => void): void {
    writeLine(String(info[MESSAGE]));
    next();
  }
}

/**
 * One JSON object a line. logform's json() reconfigures safe-stable-stringify for every line and
 * runs it with a replacer function: about a quarter of what writing an access line cost in the
 * warm path's profile. JSON.stringify is native. What it refuses (a cycle, a BigInt) still goes
 * through json(), which writes it safely.
 */
const safeJson = winston.format.json();
const jsonLine = winston.format((info) => {
  try {
    (info as unknown as Record<symbol, string>)[MESSAGE] = JSON.stringify(info);
    return info;
  } catch {
    return safeJson.transform(info, safeJson.options);
  }
});

export function createLogger(level: string, options: { silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), jsonLine()),
    defaultMeta: { service: 'mme-gateway' },
    transports: [new StdoutLines()],
  });
}
