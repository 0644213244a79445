/**
 * The Node HTTP server around the app, with timeouts chosen for life behind an ALB:
 * keep-alive longer than the ALB's idle timeout (so the ALB, not the gateway, closes idle
 * connections), headers timeout longer still (Node requires it), and a bound on how long a
 * client may take to send its request (slow-loris).
 */
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { GatewayConfig } from './config.js';

export function createHttpServer(app: Express, settings: GatewayConfig['server']): Server {
  const server = createServer(app);
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.headersTimeout = settings.headersTimeoutMs;
  server.requestTimeout = settings.requestReceiveTimeoutMs;
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
