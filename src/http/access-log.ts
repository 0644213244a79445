/**
 * One access-log line and one http_requests_total sample per request, written when the
 * response finishes (or the connection closes first), plus the in-flight gauge.
 */
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { GatewayMetrics } from '../metrics.js';
import { locals } from './request-context.js';

export function accessLog(metrics: GatewayMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const context = locals(res);
    metrics.inflightRequests.inc();
    res.once('close', () => {
      metrics.inflightRequests.dec();
      const status = res.writableFinished ? res.statusCode : 499; // 499: client went away first
      const latencyMs = Math.round((performance.now() - context.receivedAt) * 1000) / 1000;
      // A departed caller's invocation unwinds just after this (its abort is this same event).
      if (status === 499 && context.invocationSettled) void context.invocationSettled.then(() => record(status, latencyMs));
      else record(status, latencyMs);
    });
    const record = (status: number, latencyMs: number) => {
      const { access } = context;
      // For a departed caller, whether it cost an upstream call (attempts, upstreamAborted say more).
      const departure = status === 499 ? { sentUpstream: (access.attempts ?? 0) > 0 } : {};
      metrics.httpRequests.inc({ route: access.route, method: req.method, status: String(status) });
      context.logger.info('request', {
        method: req.method,
        status,
        latencyMs,
        ...access,
        ...departure,
      });
    };
    next();
  };
}
