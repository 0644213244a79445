/**
 * POST /models/{model}/predict: the REST prediction route. Everything that does not need the
 * body is checked first, in this order: key (401), name (400/404), the key's allowlist (403),
 * headers (400/415), declared length (413); only then is the body read.
 */
import type { RequestHandler, Router } from 'express';
import type { ModelCatalog } from '../catalog.js';
import { authorizeTarget, requireAccess } from './auth.js';
import { checkPredictionHeaders, readPredictionInput } from './prediction-input.js';
import { type BodySettings, readBody } from './request-body.js';
import { type PredictionDeps, asBuffer, recordModel, runPrediction } from './run-prediction.js';
import { locals, routeLabel } from './request-context.js';
import { strictRouter } from './strict-router.js';

export interface PredictRouteDeps extends PredictionDeps {
  catalog: ModelCatalog;
  body: BodySettings;
}

/** The route's handlers, in order: declared once, run by the router and by the fast path. */
export function predictHandlers(deps: PredictRouteDeps): RequestHandler[] {
  return [
    routeLabel('/models/{model}/predict'),
    requireAccess('key'),
    (req, res, next) => {
      const model = deps.catalog.resolve(String(req.params.model));
      recordModel(res, model);
      authorizeTarget(res, model, [model.name]);
      checkPredictionHeaders(req, res);
      next();
    },
    readBody(deps.body),
    async (req, res) => {
      const input = readPredictionInput(req, res);
      const result = await runPrediction(deps, res, locals(res).model!, input);
      if (result.customAttributes !== undefined) res.setHeader('X-Amzn-SageMaker-Custom-Attributes', result.customAttributes);
      if (result.invokedVariant !== undefined) res.setHeader('X-Amzn-Invoked-Production-Variant', result.invokedVariant);
      // Exactly the model's content type: Express's res.type() would append a charset.
      res.setHeader('Content-Type', result.contentType ?? 'application/octet-stream');
      res.end(asBuffer(result.body)); // 200, the status a response starts with
    },
  ];
}

export function predictRouter(handlers: RequestHandler[]): Router {
  const router = strictRouter();
  router.post('/models/:model/predict', ...handlers);
  return router;
}
