/**
 * Model state and warm-up: GET /models (paged, see model-listing.ts), GET /models/{model},
 * POST /models/{model}/warm (payload rules in invoke/warmup.ts).
 */
import type { Router } from 'express';
import { performance } from 'node:perf_hooks';
import type { ModelCatalog, ResolvedModel } from '../catalog.js';
import { viewOf } from '../invoke/fallbacks.js';
import type { Invoker, ModelReport } from '../invoke/invoker.js';
import type { ModelStatus } from '../invoke/model-state.js';
import { warmUp } from '../invoke/warmup.js';
import { readCallerTimeoutMs, readContentType } from './prediction-input.js';
import { authorizeTarget, listingFilter, requireAccess } from './auth.js';
import { ListingIndex, readListingQuery } from './model-listing.js';
import { type BodySettings, declaresBody, readBody } from './request-body.js';
import { type PredictionDeps, recordModel, runPrediction } from './run-prediction.js';
import { locals, routeLabel } from './request-context.js';
import { strictRouter } from './strict-router.js';

export interface ModelsRouteDeps extends PredictionDeps {
  catalog: ModelCatalog;
  invoker: Invoker;
  body: BodySettings;
}

const isoOrNull = (epochMs: number | undefined) => (epochMs === undefined ? null : new Date(epochMs).toISOString());
const msOrNull = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms * 1000) / 1000);

/** One model's state as the gateway learnt it from calls (invoke/model-state.ts). */
function describe(report: ModelReport) {
  const failure = report.lastFailure;
  return {
    name: report.name,
    endpoint: report.endpoint,
    targetModel: report.targetModel,
    state: report.state,
    lastSuccessAt: isoOrNull(report.lastSuccessAt),
    lastLatencyMs: msOrNull(report.lastLatencyMs),
    lastStart: report.lastStart ?? null,
    warmBaselineMs: msOrNull(report.warmBaselineMs),
    lastColdReason: report.lastColdReason ?? null,
    lastColdAt: isoOrNull(report.lastColdAt),
    lastError: failure ? { code: failure.error.code, status: failure.error.status, detail: failure.error.message, at: isoOrNull(failure.at) } : null,
    consecutiveFailures: report.consecutiveFailures,
    breakers: report.breakers,
    waiting: report.waiting,
  };
}

export function modelsRouter(deps: ModelsRouteDeps): Router {
  const router = strictRouter();
  const { catalog } = deps;

  /** A catalog model's report; with fallbacks, each target's own state too, in priority order. */
  const reportOf = (model: ResolvedModel) => {
    const report = describe(deps.invoker.report(model));
    if (model.targets.length === 1) return report;
    const targets = model.targets.map((target) => ({ label: target.label, ...describe(deps.invoker.report(viewOf(model, target))) }));
    return { ...report, targets };
  };

  // Remembered models are those seen through the default rule: a target the catalog lists
  // (as a primary or a fallback) is listed under its catalog names only.
  const index = new ListingIndex<ResolvedModel | ModelStatus>(function* () {
    for (const model of catalog.listedModels()) yield { name: model.name, value: model };
    for (const status of deps.invoker.knownModels()) {
      if (!catalog.listsTarget(status.endpoint, status.targetModel)) yield { name: status.name, value: status };
    }
  });

  router.get('/models', routeLabel('/models'), requireAccess('key'), (req, res) => {
    const visible = listingFilter(res);
    const { items, nextCursor } = index.page(readListingQuery(req), (model) => !visible || visible([model.name]));
    const models = items.map((model) => ('targets' in model ? reportOf(model) : describe(deps.invoker.report(model))));
    res.json({ policy: catalog.policy, models, nextCursor });
  });

  router.get('/models/:model', routeLabel('/models/{model}'), requireAccess('key'), (req, res) => {
    const model = catalog.resolve(String(req.params.model));
    recordModel(res, model);
    authorizeTarget(res, model, [model.name]);
    res.json(reportOf(model));
  });

  router.post(
    '/models/:model/warm',
    routeLabel('/models/{model}/warm'),
    requireAccess('key'),
    (req, res, next) => {
      const model = catalog.resolve(String(req.params.model));
      recordModel(res, model);
      authorizeTarget(res, model, [model.name]);
      readCallerTimeoutMs(req);
      if (declaresBody(req)) readContentType(req); // a caller's payload needs its type; checked before reading it
      next();
    },
    readBody(deps.body),
    async (req, res) => {
      const model = locals(res).model!;
      const body = req.body as Buffer;
      const fromCaller = body.length > 0 ? { contentType: readContentType(req), body } : undefined;
      const callerTimeoutMs = readCallerTimeoutMs(req);
      const startedAt = performance.now();
      // A warm-up outlives its caller: the load is what was asked for (a fire-and-forget curl).
      const containerAnswer = await warmUp(model, fromCaller, (input) =>
        runPrediction(deps, res, model, { input, callerTimeoutMs }, { outlivesCaller: true }),
      );
      res.json({ ...reportOf(model), warmedInMs: Math.round(performance.now() - startedAt), containerAnswer });
    },
  );

  return router;
}
