/**
 * Per-request bookkeeping shared by the routes, the access log and the error handlers: the
 * request id (the caller's X-Request-Id when it is sane, a fresh UUID otherwise), a child
 * logger that puts it on every line the request writes, the fields of the one access-log line
 * each request produces, and the request's AbortSignal, which fires when the caller's
 * connection closes before the answer is complete.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { ResolvedModel } from '../catalog.js';
import type { Logger } from '../logger.js';
import type { ColdReason, StartKind } from '../invoke/cold-evidence.js';

/** The route label of a request no route matched (yet). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Printable ASCII without spaces, bounded: safe to echo in a header and a log line. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export interface AccessRecord {
  route: string;
  /** The API key's id when access control is on (never the key). */
  caller?: string;
  model?: string;
  endpoint?: string;
  targetModel?: string;
  code?: string;
  start?: StartKind;
  /** Why the call counts as cold (absent when warm). */
  coldReason?: ColdReason | undefined;
  /** The catalog target that served (or was tried last). */
  target?: string | undefined;
  attempts?: number;
  bytesIn?: number;
  bytesOut?: number;
  upstreamRequestId?: string;
  /** True when an InvokeEndpoint already sent was aborted because the caller left. */
  upstreamAborted?: boolean;
  /** Filled in when the line is written. */
  method?: string;
  status?: number;
  latencyMs?: number;
  /** For a caller who left (499): whether anything was sent upstream. */
  sentUpstream?: boolean;
}

export interface RequestLocals {
  requestId: string;
  /** Logs for this request: every line carries its requestId. */
  logger: Logger;
  receivedAt: number;
  access: AccessRecord;
  /** Aborts when the caller goes away (connection closed) before the answer was written. */
  signal: AbortSignal;
  /**
   * Settles when the request's invocation has finished and recorded itself in `access`, so the
   * access line of a caller who left can wait for what its departure cost upstream.
   */
  invocationSettled?: Promise<void>;
  /** The model the request resolved to, once known. */
  model?: ResolvedModel;
}

export function locals(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const offered = req.get('x-request-id');
    const requestId = offered !== undefined && REQUEST_ID.test(offered) ? offered : randomUUID();
    const context = locals(res);
    context.requestId = requestId;
    context.logger = logger.child({ requestId });
    context.receivedAt = performance.now();
    context.access = { route: UNMATCHED_ROUTE };
    const departure = new AbortController();
    context.signal = departure.signal;
    // 'close' comes after 'finish' for an answered request; before it only if the caller left.
    res.once('close', () => {
      if (!res.writableFinished) departure.abort();
    });
    res.setHeader('X-Request-Id', requestId);
    next();
  };
}

/** Labels the request with its route template (bounded cardinality for metrics). */
export function routeLabel(route: string) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    locals(res).access.route = route;
    next();
  };
}
