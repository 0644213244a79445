/**
 * Request bodies are read last. A route checks everything that does not need the body first
 * (its access rule, the name, the key's allowlist, the headers); this reader then refuses a
 * declared length over the limit or an encoding before reading a byte, and bounds the read by
 * REQUEST_RECEIVE_TIMEOUT_MS (Node's own requestTimeout stops watching once headers are in).
 *
 * Any answer sent while the request's body is unread (a refusal: 401, 403, 404, 413, 408, …)
 * says `Connection: close` and closes the connection instead of letting Node drain the body to
 * keep the socket alive. The close lingers briefly, as nginx's does: the gateway sends FIN after
 * the answer and discards what is still in flight for at most LINGER_MS, so a client that was
 * mid-upload reads its answer instead of a connection reset (which would drop the answer).
 */
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { gatewayError } from '../errors.js';
import { locals } from './request-context.js';

export interface BodySettings {
  maxBodyBytes: number;
  /** Counted from the moment the headers reached the gateway. */
  receiveTimeoutMs: number;
}

/** Long enough for a client to read the answer and stop sending; short enough to hold nothing. */
const LINGER_MS = 2_000;

interface BodyLocals {
  bodyRead?: boolean;
  /** The Connection: close this module set (not, say, shutdown's), lifted once the body is read. */
  closeSetHere?: boolean;
}

/** Whether the request carries a body at all (chunked, or a non-zero Content-Length). */
export function declaresBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Early middleware of the app: a request with a body is answered `Connection: close` (so no
 * client reuses the connection) unless its body was read in full, and then the close lingers.
 */
export function closeIfBodyUnread(req: Request, res: Response, next: NextFunction): void {
  if (declaresBody(req)) {
    const bodyLocals = res.locals as BodyLocals;
    if (res.getHeader('connection') === undefined) {
      res.setHeader('Connection', 'close');
      bodyLocals.closeSetHere = true;
    }
    res.once('prefinish', () => {
      if (!bodyLocals.bodyRead) lingerInsteadOfReset(req);
    });
  }
  next();
}

/**
 * Runs just before Node closes the connection of a `Connection: close` answer. Node would destroy
 * the socket as soon as the answer is written, and closing on unread data sends a reset that can
 * drop the answer at the client. Without `destroySoon` Node only half-closes (its own fallback):
 * the client reads the answer and its FIN, what it still sends is discarded, and the socket is
 * let go when the client closes or after LINGER_MS.
 */
function lingerInsteadOfReset(req: Request): void {
  const { socket } = req;
  (socket as unknown as { destroySoon: (() => void) | undefined }).destroySoon = undefined;
  req.resume(); // a paused body would stop the socket reading
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(timer));
}

/** Checks on the headers alone: a body the gateway would refuse is refused before it is read. */
function refuseUnreadable(req: Request, maxBodyBytes: number): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw gatewayError('UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding is not supported: send the body uncompressed.');
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBodyBytes) {
    throw gatewayError('PAYLOAD_TOO_LARGE', `The request declares ${declared} bytes; the limit is ${maxBodyBytes} (SageMaker accepts at most 6 MiB).`);
  }
}

/**
 * Reads the body as bytes into req.body (the gateway passes bodies through, it never parses
 * them). Place it after every check that does not need the body.
 */
export function readBody(settings: BodySettings) {
  return (req: Request, res: Response, next: NextFunction): void => {
    refuseUnreadable(req, settings.maxBodyBytes);
    if (!declaresBody(req)) {
      req.body = Buffer.alloc(0);
      next();
      return;
    }
    // Only now is the client told to send the body it announced with Expect: 100-continue.
    if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
    let settled = false;
    const remainingMs = locals(res).receivedAt + settings.receiveTimeoutMs - performance.now();
    const timer = setTimeout(() => {
      settled = true;
      req.unpipe();
      req.pause();
      next(gatewayError('REQUEST_TIMEOUT', `The request body did not arrive within ${settings.receiveTimeoutMs} ms.`));
    }, Math.max(0, remainingMs));
    getRawBody(req, { length: req.headers['content-length'] ?? null, limit: settings.maxBodyBytes }, (error, body) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if ((error as { type?: string } | null)?.type === 'request.aborted') {
        res.destroy(); // the caller left mid-body: there is no one to answer (logged as 499)
        return;
      }
      if (error) {
        next(error); // problem.ts maps raw-body's errors (413 over the limit, a body shorter than declared)
        return;
      }
      req.body = body;
      const bodyLocals = res.locals as BodyLocals;
      bodyLocals.bodyRead = true;
      if (bodyLocals.closeSetHere) res.removeHeader('Connection'); // the connection can serve the next request
      next();
    });
  };
}
