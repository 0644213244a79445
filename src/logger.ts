/**
 * winston, JSON lines on stdout (what CloudWatch Logs and the awslogs driver expect). Request
 * handlers log through a child logger that carries the request id, so every line of one
 * request can be found with one filter. Request bodies and headers are never logged.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level: string, options: { silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'mme-gateway' },
    transports: [new winston.transports.Console()],
  });
}
