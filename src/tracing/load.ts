/**
 * Tracing is opt-in, and off costs nothing: this is the only tracing module the gateway imports
 * statically, and it imports no OpenTelemetry code. When OTLP export is configured,
 * loadTracing() imports the SDK dynamically and returns the steps the composition root puts
 * on the request path; when it is not, there are no steps, no exporter and no timer.
 */
import type { RequestHandler } from 'express';
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ExemplarSource } from '../metrics.js';
import type { BreakerRegistry } from '../invoke/breakers.js';
import type { ColdStartGate } from '../invoke/cold-start-gate.js';
import type { Invoker } from '../invoke/invoker.js';
import type { ModelStateStore } from '../invoke/model-state.js';
import type { Clock } from '../invoke/retry-policy.js';
import type { UpstreamTransport } from '../invoke/transport.js';

/**
 * Interceptors in undici's sense: each takes the component and returns it with one method
 * wrapped, so the request path gains a span without the component knowing about tracing.
 */
export interface TracingInterceptors {
  /** One client span per InvokeEndpoint attempt. */
  transport(next: UpstreamTransport): UpstreamTransport;
  /** A span for the wait at the cold-start gate, with what was known of the model on arrival. */
  gate(next: ColdStartGate, states: ModelStateStore): ColdStartGate;
  /** A breaker rejection becomes an event on the request's span. */
  breakers(next: BreakerRegistry): BreakerRegistry;
  /** An expired deadline becomes an event on the request's span. */
  invoker(next: Invoker): Invoker;
  /** The invoker sleeps only between attempts: each sleep becomes a backoff event. */
  clock(next: Clock): Clock;
}

/** Tracing off: every component stays exactly as built. */
export const passThrough: TracingInterceptors = {
  transport: (next) => next,
  gate: (next) => next,
  breakers: (next) => next,
  invoker: (next) => next,
  clock: (next) => next,
};

export interface Tracing {
  /** Express step: W3C Trace Context (and X-Ray) in and out, the server span, ids in the access log. */
  serverSpan: RequestHandler;
  intercept: TracingInterceptors;
  /** The current request's trace id as exemplar labels, when its trace is sampled. */
  exemplar: ExemplarSource;
  /** Exports what is still queued (bounded in time); called once requests have drained. */
  shutdown(): Promise<void>;
}

export async function loadTracing(settings: GatewayConfig['tracing'], logger: Logger): Promise<Tracing | undefined> {
  if (!settings.enabled) return undefined;
  const { startTracing } = await import('./provider.js');
  return startTracing(settings, logger);
}
