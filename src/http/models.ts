/**
 * Model state and warm-up: GET /models, GET /models/{model}, POST /models/{model}/warm
 * (payload rules in invoke/warmup.ts).
 */
import { Router } from 'express';
import { performance } from 'node:perf_hooks';
import type { ModelCatalog, ResolvedModel } from '../catalog.js';
import { viewOf } from '../invoke/fallbacks.js';
import { modelKey } from '../invoke/model-state.js';
import type { Invoker, ModelReport } from '../invoke/invoker.js';
import { warmUp } from '../invoke/warmup.js';
import { readCallerTimeoutMs, readContentType } from './prediction-input.js';
import { authorizeModel, visibleTo } from './auth.js';
import { rawBody } from './predict.js';
import { type PredictionDeps, recordModel, runPrediction } from './run-prediction.js';
import { routeLabel } from './request-context.js';

export interface ModelsRouteDeps extends PredictionDeps {
  catalog: ModelCatalog;
  invoker: Invoker;
  maxBodyBytes: number;
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
  const router = Router();

  /** A catalog model's report; with fallbacks, each target's own state too, in priority order. */
  const reportOf = (model: ResolvedModel) => {
    const report = describe(deps.invoker.report(model));
    if (model.targets.length === 1) return report;
    const targets = model.targets.map((target) => ({ label: target.label, ...describe(deps.invoker.report(viewOf(model, target))) }));
    return { ...report, targets };
  };

  router.get('/models', routeLabel('/models'), (_req, res) => {
    const listedModels = deps.catalog.listedModels();
    const listed = new Set(listedModels.flatMap((model) => model.targets.map((target) => modelKey(target.endpoint, target.targetModel))));
    const reports = listedModels.map(reportOf);
    for (const status of deps.invoker.knownModels()) {
      if (!listed.has(modelKey(status.endpoint, status.targetModel))) {
        reports.push(describe(deps.invoker.report(status)));
      }
    }
    res.json({ policy: deps.catalog.policy, models: reports.filter((report) => visibleTo(res, report.name)) });
  });

  router.get('/models/:model', routeLabel('/models/{model}'), (req, res) => {
    const model = deps.catalog.resolve(String(req.params.model));
    recordModel(res, model);
    authorizeModel(res, model);
    res.json(reportOf(model));
  });

  router.post('/models/:model/warm', routeLabel('/models/{model}/warm'), rawBody(deps.maxBodyBytes), async (req, res) => {
    const model = deps.catalog.resolve(String(req.params.model));
    recordModel(res, model);
    authorizeModel(res, model);
    const body: unknown = req.body;
    const fromCaller = Buffer.isBuffer(body) && body.length > 0 ? { contentType: readContentType(req), body } : undefined;
    const callerTimeoutMs = readCallerTimeoutMs(req);
    const startedAt = performance.now();
    // A warm-up outlives its caller: the load is what was asked for (a fire-and-forget curl).
    const containerAnswer = await warmUp(model, fromCaller, (input) =>
      runPrediction(deps, res, model, { input, callerTimeoutMs }, { outlivesCaller: true }),
    );
    res.json({ ...reportOf(model), warmedInMs: Math.round(performance.now() - startedAt), containerAnswer });
  });

  return router;
}
