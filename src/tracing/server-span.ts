/**
 * The tracing step of the HTTP chain: reads the caller's W3C traceparent/tracestate (or AWS
 * X-Ray header), starts the server span as its child (a new trace when there is none), returns
 * the span's context in the same headers, puts trace_id/span_id on the request's log lines, and runs
 * the rest of the request with the span as its parent. The span ends when the response does.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  defaultTextMapGetter,
  trace,
} from '@opentelemetry/api';
import type { Request, RequestHandler, Response } from 'express';
import { UNMATCHED_ROUTE, locals } from '../http/request-context.js';
import { exemplarFor, requestSpans } from './request-spans.js';
import { ATTR } from './semconv.js';

const responseHeaders: TextMapSetter<Response> = {
  set: (res, key, value) => {
    if (!res.headersSent) res.setHeader(key, value);
  },
};

export function serverSpanStep(tracer: Tracer, propagator: TextMapPropagator): RequestHandler {
  return (req, res, next) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const server = tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR.httpMethod]: req.method, [ATTR.urlPath]: req.path, [ATTR.urlScheme]: 'http', [ATTR.requestId]: locals(res).requestId },
      },
      parent,
    );
    const context = trace.setSpan(parent, server);
    const { traceId, spanId } = server.spanContext();
    // Every line the request logs (the access line included) carries the ids, named as
    // OpenTelemetry's log data model names them, so logs and traces join on them.
    const request = locals(res);
    request.logFields.trace_id = traceId;
    request.logFields.span_id = spanId;
    propagator.inject(context, res, responseHeaders);
    res.once('close', () => endServerSpan(req, res, server));
    requestSpans.run({ server, context, attempts: 0, lastOutcome: undefined, callerSignal: request.signal, exemplar: exemplarFor(server) }, next);
  };
}

function endServerSpan(req: Request, res: Response, server: ReturnType<Tracer['startSpan']>): void {
  const { access } = locals(res);
  const status = res.writableFinished ? res.statusCode : 499; // as the access log counts it
  // HTTP conventions: `{method} {route template}` (bounded cardinality), just `{method}` when no route matched.
  server.updateName(access.route === UNMATCHED_ROUTE ? req.method : `${req.method} ${access.route}`);
  server.setAttributes({ [ATTR.httpRoute]: access.route, [ATTR.httpStatus]: status });
  if (access.model !== undefined) server.setAttributes({ [ATTR.model]: access.model, [ATTR.endpoint]: access.endpoint ?? '', [ATTR.targetModel]: access.targetModel ?? '' });
  if (access.start !== undefined) server.setAttributes({ [ATTR.start]: access.start, [ATTR.attempts]: access.attempts ?? 0 });
  if (access.coldReason !== undefined) server.setAttribute(ATTR.coldReason, access.coldReason);
  if (access.code !== undefined) server.setAttribute(ATTR.errorType, access.code);
  // A server span is an error only for 5xx: a 4xx is the caller's mistake, not the gateway's.
  if (status >= 500) server.setStatus({ code: SpanStatusCode.ERROR, message: access.code ?? String(status) });
  server.end();
}
