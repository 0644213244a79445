/**
 * The Node HTTP server around the app, with timeouts chosen for life behind an ALB:
 * keep-alive longer than the ALB's idle timeout (so the ALB, not the gateway, closes idle
 * connections), headers timeout longer still (Node requires it), and a bound on how long a
 * client may take to send its request (slow-loris).
 */
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Express } from 'express';
import { gatewayError } from './errors.js';
import { expressMessageClasses } from './express-messages.js';
import { sendProblem } from './http/problem.js';

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
    { maxHeaderSize: settings.maxHeaderBytes, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS, ...expressMessageClasses(app) },
    app,
  );
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.headersTimeout = settings.headersTimeoutMs;
  // Bounds the request line and headers; Node stops watching once they are in, so the body has
  // its own bound of the same length in http/request-body.ts.
  server.requestTimeout = settings.requestReceiveTimeoutMs;
  server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  // Without this listener Node answers 100 Continue before the app has looked at the request;
  // the body reader sends it once every check that needs no body has passed.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  answerClientErrorsThroughTheResponse(server);
  return server;
}

/**
 * Node answers a timed-out or unparsable request by writing a bare 408/400 straight to the
 * socket, behind the back of a response the app may already hold for it (a stalled body), so
 * the access log would disagree with what the client got. Here such an error is answered
 * through that response instead (problem+json, logged and counted like any other answer);
 * with no response in flight, Node's own answer is written as before.
 */
function answerClientErrorsThroughTheResponse(server: Server): void {
  const inFlight = new WeakMap<Socket, ServerResponse>();
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(req.socket, res);
    res.once('close', () => {
      if (inFlight.get(req.socket) === res) inFlight.delete(req.socket);
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const res = inFlight.get(socket);
    if (!socket.writable || res?.headersSent || CLIENT_LEFT.has(error.code ?? '')) {
      socket.destroy(error);
      return;
    }
    if (!res) {
      socket.write(nodeAnswer(error.code));
      socket.destroy(error);
      return;
    }
    res.setHeader('Connection', 'close');
    res.once('finish', () => socket.destroy());
    sendProblem(
      res as Parameters<typeof sendProblem>[0],
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? gatewayError('REQUEST_TIMEOUT', 'The request was not received in time.')
        : gatewayError('INVALID_REQUEST', 'The request could not be read (malformed URL, headers or body).'),
    );
  });
}

/** The client reset or closed its connection mid-request: nobody is left to answer. */
const CLIENT_LEFT = new Set(['ECONNRESET', 'HPE_INVALID_EOF_STATE']);

/** What Node itself writes for a client error when no response is in flight. */
function nodeAnswer(code: string | undefined): string {
  const status =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? '408 Request Timeout'
      : code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
  return `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
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
