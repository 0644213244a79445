/**
 * The Node HTTP server around the app, with timeouts chosen for life behind an ALB:
 * keep-alive longer than the ALB's idle timeout (so the ALB, not the gateway, closes idle
 * connections), headers timeout longer still (Node requires it), and a bound on how long a
 * client may take to send its request (slow-loris).
 */
import { createServer, type Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import type { Express } from 'express';

/**
 * How often Node looks for connections past their headers/request timeouts. Its default (30 s)
 * would let a half-sent request live up to 30 s beyond REQUEST_RECEIVE_TIMEOUT_MS.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface HttpServerSettings {
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestReceiveTimeoutMs: number;
  maxHeaderBytes: number;
  maxRequestsPerSocket: number;
}

export function createHttpServer(app: Express, settings: HttpServerSettings): Server {
  const server = createServer(
    { maxHeaderSize: settings.maxHeaderBytes, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    app,
  );
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.headersTimeout = settings.headersTimeoutMs;
  // Whole request (headers and body) from one client: a slow-loris cannot hold a socket longer.
  server.requestTimeout = settings.requestReceiveTimeoutMs;
  server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  return server;
}

/** Listens and resolves with the bound port (the real one when `port` is 0). */
export function listen(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
