/**
 * GET /healthz: the process is alive (ECS container health check).
 * GET /readyz: the task should receive traffic (ALB target group health check); 503 from
 * the moment shutdown starts, so the load balancer drains the task before it exits.
 */
import type { Router } from 'express';
import { requireAccess } from './auth.js';
import { strictRouter } from './strict-router.js';
import { routeLabel } from './request-context.js';

export interface Lifecycle {
  isDraining(): boolean;
}

export function healthRouter(lifecycle: Lifecycle): Router {
  const router = strictRouter();
  router.get('/healthz', routeLabel('/healthz'), requireAccess('open'), (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', routeLabel('/readyz'), requireAccess('open'), (_req, res) => {
    if (lifecycle.isDraining()) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    res.json({ status: 'ready' });
  });
  return router;
}
