/**
 * Loaded only when tracing is on (see load.ts): the OpenTelemetry SDK configured by the
 * standard OTEL_* variables. Spans go through a batch processor with a bounded queue (it drops
 * spans when full, it never makes a request wait) to an OTLP/HTTP exporter; sampling is
 * parent-based by default (OTEL_TRACES_SAMPLER/ARG), so a caller's sampling decision holds.
 */
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { logOpenTelemetryDiagnostics } from './diag-log.js';
import { tracingInterceptors } from './interceptors.js';
import type { Tracing } from './load.js';
import { currentExemplar } from './request-spans.js';
import { serverSpanStep } from './server-span.js';

/**
 * Longest the final flush may take at shutdown. ECS allows 30 s between SIGTERM and SIGKILL
 * and the drain needs most of it; an unreachable collector must not take the rest.
 */
const SHUTDOWN_FLUSH_LIMIT_MS = 5_000;

export function startTracing(settings: GatewayConfig['tracing'], logger: Logger): Tracing {
  const tracingLog = logger.child({ component: 'tracing' });
  logOpenTelemetryDiagnostics(tracingLog);

  const provider = new BasicTracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override the default name.
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }).merge(detectResources({ detectors: [envDetector] })),
    // Endpoint, headers, timeout and compression come from OTEL_EXPORTER_OTLP_*; queue size,
    // batch size and delay from OTEL_BSP_*. The sampler from OTEL_TRACES_SAMPLER/ARG.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const tracer = provider.getTracer('mme-gateway');
  // X-Ray first, W3C last: when a request carries both, the W3C traceparent wins.
  const propagator = new CompositePropagator({ propagators: [new AWSXRayPropagator(), new W3CTraceContextPropagator()] });
  logger.info('tracing on: OTLP/HTTP export', { serviceName: settings.serviceName });

  return {
    serverSpan: serverSpanStep(tracer, propagator),
    intercept: tracingInterceptors(tracer),
    exemplar: currentExemplar,
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), SHUTDOWN_FLUSH_LIMIT_MS);
      });
      const flushed = provider.shutdown().then(
        () => 'flushed' as const,
        (error: unknown) => (error as Error).message,
      );
      const result = await Promise.race([flushed, limit]);
      clearTimeout(timer);
      if (result !== 'flushed') tracingLog.warn('tracing: spans not exported before shutdown', { limitMs: SHUTDOWN_FLUSH_LIMIT_MS, result });
    },
  };
}
