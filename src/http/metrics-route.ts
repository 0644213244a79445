/**
 * GET /metrics: the Prometheus scrape target. The Prometheus text format is the default; when
 * the latency histograms carry trace exemplars (tracing on) and the scraper prefers OpenMetrics
 * (Prometheus does, in its Accept header), the same registry is rendered as OpenMetrics, the
 * only format that can carry exemplars.
 */
import type { Router } from 'express';
import { type Metric, type OpenMetricsContentType, Registry } from 'prom-client';
import { requireAccess } from './auth.js';
import { strictRouter } from './strict-router.js';
import type { GatewayMetrics } from '../metrics.js';
import { routeLabel } from './request-context.js';

/** The formats on offer, with the version parameters Prometheus's Accept header names. */
const TEXT_FORMAT = 'text/plain; version=0.0.4';
const OPENMETRICS_FORMAT = 'application/openmetrics-text; version=1.0.0';

export function metricsRouter(metrics: GatewayMetrics): Router {
  const router = strictRouter();
  router.get('/metrics', routeLabel('/metrics'), requireAccess('metrics'), async (req, res) => {
    // The text format first: a client that accepts anything (curl) gets the classic format.
    if (metrics.exemplars && req.accepts(TEXT_FORMAT, OPENMETRICS_FORMAT) === OPENMETRICS_FORMAT) {
      res.type(Registry.OPENMETRICS_CONTENT_TYPE).send(await openMetricsExposition(metrics.registry));
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}

/** What prom-client's registry reads from a registered metric when it renders one. */
interface RenderableMetric {
  name: string;
  help: string;
  type: string;
  get(): Promise<{ name: string }>;
  getForPromString?(): Promise<{ name: string }>;
}

/**
 * Renders the registry's metrics as OpenMetrics. prom-client's OpenMetrics rendering renames
 * each counter in place (it strips `_total`), so it renders views of the metrics, not the
 * metrics themselves: the text exposition, rendered from the same objects, keeps its names.
 */
async function openMetricsExposition(registry: Registry): Promise<string> {
  const openMetrics = new Registry<OpenMetricsContentType>();
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of registry.getMetricsAsArray() as unknown as RenderableMetric[]) {
    const view: RenderableMetric = {
      name: metric.name,
      help: metric.help,
      type: metric.type,
      get: async () => ({ ...(await metric.get()), name: view.name }),
    };
    if (metric.getForPromString) {
      const getForPromString = metric.getForPromString.bind(metric);
      view.getForPromString = async () => ({ ...(await getForPromString()), name: view.name });
    }
    openMetrics.registerMetric(view as unknown as Metric);
  }
  return openMetrics.metrics();
}
