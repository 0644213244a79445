/**
 * One access-log line and one http_requests_total sample per request, written when the
 * connection is done with it, plus the in-flight gauge. The status recorded is the one written
 * to the socket: a response counts as written only once Node has handed all of it to the
 * operating system ('finish'). A request whose connection closed before that (the caller left,
 * or a timeout cut it) is recorded as 499 CLIENT_CLOSED_REQUEST, whatever the handler meant to
 * answer.
 */
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import { errorCatalog } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { type RequestLocals, locals } from './request-context.js';

/** nginx's "client closed request" (499): nothing was written before the connection closed. */
const CLOSED_BEFORE_ANSWER = errorCatalog.CLIENT_CLOSED_REQUEST.status;

export function accessLog(metrics: GatewayMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const context = locals(res);
    metrics.inflightRequests.inc();
    // Not res.writableFinished: it turns true when a handler ends a response on a socket that
    // is already gone, and the close event may only be delivered after that.
    let written = false;
    res.once('finish', () => {
      written = true;
    });
    res.once('close', () => {
      metrics.inflightRequests.dec();
      const status = written ? res.statusCode : CLOSED_BEFORE_ANSWER;
      const latencyMs = Math.round((performance.now() - context.receivedAt) * 1000) / 1000;
      // A departed caller's invocation unwinds just after this (its abort is this same event).
      if (status === CLOSED_BEFORE_ANSWER && context.invocationSettled) void context.invocationSettled.then(() => record(metrics, req, context, status, latencyMs));
      else record(metrics, req, context, status, latencyMs);
    });
    next();
  };
}

/** The access line: the request's access record itself, completed (winston copies what it logs). */
function record(metrics: GatewayMetrics, req: Request, context: RequestLocals, status: number, latencyMs: number): void {
  const { access } = context;
  metrics.httpRequests.inc({ route: access.route, method: req.method, status: String(status) });
  access.method = req.method;
  access.status = status;
  access.latencyMs = latencyMs;
  if (status === CLOSED_BEFORE_ANSWER) {
    // For a departed caller, whether it cost an upstream call (attempts, upstreamAborted say more).
    access.sentUpstream = (access.attempts ?? 0) > 0;
    // The code of an answer that was never written is not what the caller got.
    access.code = 'CLIENT_CLOSED_REQUEST';
  }
  context.writeAccessLine();
}
