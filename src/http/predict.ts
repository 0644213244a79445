/** POST /models/{model}/predict: the REST prediction route. */
import { type RequestHandler, Router, raw } from 'express';
import type { ModelCatalog } from '../catalog.js';
import { authorizeModel } from './auth.js';
import { readPredictionInput } from './prediction-input.js';
import { type PredictionDeps, asBuffer, recordModel, runPrediction } from './run-prediction.js';
import { locals, routeLabel } from './request-context.js';

export interface PredictRouteDeps extends PredictionDeps {
  catalog: ModelCatalog;
  maxBodyBytes: number;
}

/** Reads any body as bytes: the gateway passes it through, it never parses it. */
export function rawBody(maxBodyBytes: number) {
  return raw({ type: () => true, limit: maxBodyBytes, inflate: false });
}

export function predictRouter(deps: PredictRouteDeps): Router {
  const router = Router();
  const resolveModel: RequestHandler<{ model: string }> = (req, res, next) => {
    // Before the body is read: an unknown or malformed name is refused without reading 6 MiB.
    const model = deps.catalog.resolve(req.params.model);
    recordModel(res, model);
    authorizeModel(res, model);
    next();
  };
  router.post('/models/:model/predict', routeLabel('/models/{model}/predict'), resolveModel, rawBody(deps.maxBodyBytes), async (req, res) => {
    const model = locals(res).model!;
    const input = readPredictionInput(req);
    const result = await runPrediction(deps, res, model, input);
    if (result.customAttributes !== undefined) res.setHeader('X-Amzn-SageMaker-Custom-Attributes', result.customAttributes);
    if (result.invokedVariant !== undefined) res.setHeader('X-Amzn-Invoked-Production-Variant', result.invokedVariant);
    // Exactly the model's content type: Express's res.type() would append a charset.
    res.setHeader('Content-Type', result.contentType ?? 'application/octet-stream');
    res.status(200).end(asBuffer(result.body));
  });
  return router;
}
