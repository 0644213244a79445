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

export function createLogger(level: string, options: { silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'mme-gateway' },
    transports: [new StdoutLines()],
  });
}
