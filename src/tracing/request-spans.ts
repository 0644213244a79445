/**
 * The spans of the request being served, found by whatever runs on its behalf (attempts, the
 * gate, the metrics) through AsyncLocalStorage, so nothing on the request path passes them on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type Span, TraceFlags } from '@opentelemetry/api';
import { EXEMPLAR_TRACE_ID } from './semconv.js';

export interface RequestSpans {
  server: Span;
  /** The context holding the server span: the parent of every other span of the request. */
  context: Context;
  /** InvokeEndpoint attempts sent so far (numbers the attempt spans). */
  attempts: number;
  /** The last attempt's outcome: what the backoff after it waits out. */
  lastOutcome: string | undefined;
  /** Aborts when the caller closes its connection (tells an abandoned attempt from a timed-out one). */
  callerSignal: AbortSignal | undefined;
  /** Exemplar labels when sampled; computed once per request. */
  exemplar: Record<string, string> | undefined;
}

export const requestSpans = new AsyncLocalStorage<RequestSpans>();

export function exemplarFor(span: Span): Record<string, string> | undefined {
  const { traceId, traceFlags } = span.spanContext();
  // Only a sampled trace reaches the collector; an exemplar must link to a trace that exists.
  return traceFlags & TraceFlags.SAMPLED ? { [EXEMPLAR_TRACE_ID]: traceId } : undefined;
}

export function currentExemplar(): Record<string, string> | undefined {
  return requestSpans.getStore()?.exemplar;
}
