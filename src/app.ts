/**
 * createApp(deps): the Express application with every route, and nothing global, so each
 * test builds exactly the world it needs (its own catalog, invoker, metrics and logger).
 */
import express, { type Express, type RequestHandler } from 'express';
import type { ModelCatalog } from './catalog.js';
import type { Invoker } from './invoke/invoker.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import helmet from 'helmet';
import { accessLog } from './http/access-log.js';
import { type AuthSettings, accessControl, requireAccess } from './http/auth.js';
import { type Lifecycle, healthRouter } from './http/health.js';
import { metricsRouter } from './http/metrics-route.js';
import { modelsRouter } from './http/models.js';
import { openApiRouter } from './http/openapi-route.js';
import { predictHandlers, predictRouter } from './http/predict.js';
import { dispatchAheadOfRouter, predictionFastPath } from './http/prediction-fast-path.js';
import { errorHandler, notFoundHandler } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { type BodySettings, closeIfBodyUnread } from './http/request-body.js';
import { RUNTIME_ROUTE_PREFIX, invocationHandlers, runtimeCompatibleRouter, runtimeErrorHandler } from './http/runtime-compatible.js';

export interface AppDeps {
  catalog: ModelCatalog;
  invoker: Invoker;
  metrics: GatewayMetrics;
  logger: Logger;
  lifecycle: Lifecycle;
  body: BodySettings;
  /** See RuntimeRouteDeps.wireReadyWaitMs. */
  wireReadyWaitMs: number;
  auth: AuthSettings;
  /** The server-span step when tracing is on (src/tracing); absent, the chain has no such step. */
  tracingStep?: RequestHandler;
}

/**
 * The helmet headers that mean something for a JSON/CSV API: no sniffing, no framing, no
 * referrer, nothing cached, no active content; HSTS belongs to the TLS-terminating ALB.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  strictTransportSecurity: false,
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-origin' },
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  referrerPolicy: { policy: 'no-referrer' },
  xFrameOptions: { action: 'deny' },
});

export function createApp(deps: AppDeps): Express {
  const app = express();
  // Paths match exactly (see http/strict-router.ts): /METRICS and /metrics/ are not /metrics.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  // Responses are predictions, never cached: hashing every body for an ETag is wasted CPU.
  app.set('etag', false);
  app.set('query parser', false);

  // What every request meets before its route, in order (declared once: the fast path runs it too).
  const appMiddleware: RequestHandler[] = [
    requestContext(deps.logger),
    ...(deps.tracingStep ? [deps.tracingStep] : []),
    accessLog(deps.metrics),
    closeIfBodyUnread,
    securityHeaders,
    // Each route applies its own access rule (requireAccess) once it has matched.
    accessControl(deps.auth),
  ];
  const predict = predictHandlers(deps);
  const invocations = invocationHandlers(deps);
  const handleErrors = errorHandler();
  const handleRuntimeErrors = runtimeErrorHandler();
  app.use(appMiddleware);
  // The prediction routes first: every router passed costs path matching.
  app.use(predictRouter(predict));
  app.use(runtimeCompatibleRouter(invocations));
  app.use(modelsRouter(deps));
  app.use(healthRouter(deps.lifecycle));
  app.use(metricsRouter(deps.metrics));
  app.use(openApiRouter());
  // With access control on, a path no route matches still needs a key: a caller without one
  // learns nothing from the difference between 401 and 404.
  app.use(requireAccess('key'), notFoundHandler);
  app.use(RUNTIME_ROUTE_PREFIX, handleRuntimeErrors);
  app.use(handleErrors);
  // Exact spellings of the prediction routes skip the router (http/prediction-fast-path.ts): the
  // same middleware, handlers and error handlers as above, in the same order.
  dispatchAheadOfRouter(
    app,
    predictionFastPath({
      predict: { handlers: [...appMiddleware, ...predict], errorHandlers: [handleErrors] },
      invocations: { handlers: [...appMiddleware, ...invocations], errorHandlers: [handleRuntimeErrors, handleErrors] },
    }),
  );
  return app;
}
