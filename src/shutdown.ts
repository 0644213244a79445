/**
 * Graceful shutdown for ECS: on SIGTERM, /readyz turns 503 at once (the ALB stops routing
 * new requests here), new connections are still accepted for a short grace while the ALB
 * notices, then the listener closes, idle keep-alive connections are closed, and in-flight
 * requests (including ones waiting on a cold model) finish up to the drain timeout. A second
 * signal, or the drain timeout, ends the process promptly.
 */
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './logger.js';

export interface ShutdownOptions {
  server: Server;
  logger: Logger;
  graceMs: number;
  drainTimeoutMs: number;
  /** Frees upstream clients, breakers and the embedded local MME once requests are done. */
  closeResources: () => Promise<void>;
  exit: (code: number) => void;
}

export interface ShutdownController {
  isDraining(): boolean;
  begin(signal: string): Promise<void>;
}

export function createShutdownController(options: ShutdownOptions): ShutdownController {
  const { server, logger } = options;
  let draining = false;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  // Before the app's own listener, so the header is set before a synchronous answer is sent.
  server.prependListener('request', (_req, res) => {
    inFlight++;
    // Requests still arriving on kept-alive connections are served, then the connection closes
    // so the client reconnects to a task that is not going away.
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) onIdle?.();
    });
  });

  // Unreferenced: a pending grace or drain timer alone never keeps the process alive.
  const unref = { ref: false };

  async function drain(signal: string): Promise<void> {
    const startedAt = Date.now();
    draining = true;
    // The grace is for a load balancer noticing /readyz; Ctrl-C at a terminal has none to wait for.
    const graceMs = signal === 'SIGINT' ? 0 : options.graceMs;
    logger.info('shutdown: draining', { signal, inFlight, graceMs, drainTimeoutMs: options.drainTimeoutMs });
    await sleep(Math.min(graceMs, options.drainTimeoutMs), undefined, unref);
    server.close();
    server.closeIdleConnections();
    const remainingMs = Math.max(0, options.drainTimeoutMs - (Date.now() - startedAt));
    const drained =
      inFlight === 0 ||
      (await Promise.race([
        new Promise<boolean>((resolve) => {
          onIdle = () => resolve(true);
        }),
        sleep(remainingMs, false, unref),
      ]));
    if (!drained) logger.warn('shutdown: drain timeout, closing remaining connections', { inFlight });
    server.closeAllConnections();
    await options.closeResources();
    logger.info('shutdown: complete', { drained, ms: Date.now() - startedAt });
    options.exit(drained ? 0 : 1);
  }

  return {
    isDraining: () => draining,
    begin(signal) {
      if (draining) {
        logger.warn('shutdown: second signal, exiting now', { signal, inFlight });
        options.exit(1);
        return Promise.resolve();
      }
      return drain(signal);
    },
  };
}
