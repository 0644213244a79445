/**
 * Per-request bookkeeping shared by the routes, the access log and the error handlers: the
 * request id (the caller's X-Request-Id when it is sane, a fresh UUID otherwise), a
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

/** What every line a request logs carries: its id and, with tracing on, its trace and span ids. */
export interface LogFields {
  requestId: string;
  trace_id?: string;
  span_id?: string;
}

/** The request's state, as res.locals: one object of one shape per request. */
export class RequestLocals {
  readonly logFields: LogFields;
  readonly receivedAt = performance.now();
  readonly access: AccessRecord = { route: UNMATCHED_ROUTE };
  /**
   * Settles when the request's invocation has finished and recorded itself in `access`, so the
   * access line of a caller who left can wait for what its departure cost upstream.
   */
  invocationSettled?: Promise<void>;
  /** The model the request resolved to, once known. */
  model?: ResolvedModel;
  private childLogger: Logger | undefined;

  constructor(
    readonly requestId: string,
    private readonly appLogger: Logger,
    /** Aborts when the caller goes away (connection closed) before the answer was written. */
    readonly signal: AbortSignal,
  ) {
    this.logFields = { requestId };
  }

  /**
   * Logs for this request: every line carries its log fields. Made on first use, since most
   * requests write nothing but their access line.
   */
  get logger(): Logger {
    return (this.childLogger ??= this.appLogger.child(this.logFields));
  }

  /** The access line: the access record itself with the log fields, handed to winston as one object. */
  writeAccessLine(): void {
    this.appLogger.info({ message: 'request', ...this.logFields, ...this.access });
  }
}

export function locals(res: Response): RequestLocals {
  return res.locals as RequestLocals;
}

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const offered = req.get('x-request-id');
    const requestId = offered !== undefined && REQUEST_ID.test(offered) ? offered : randomUUID();
    const departure = new AbortController();
    res.locals = new RequestLocals(requestId, logger, departure.signal);
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
