/** GET /metrics: the Prometheus scrape target. */
import { Router } from 'express';
import type { GatewayMetrics } from '../metrics.js';
import { routeLabel } from './request-context.js';

export function metricsRouter(metrics: GatewayMetrics): Router {
  const router = Router();
  router.get('/metrics', routeLabel('/metrics'), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
