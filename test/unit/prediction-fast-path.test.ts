/**
 * predictionFastPath alone: which spellings it takes (only exact ones; the router gets the
 * rest), and that it runs handlers with Express's contract (order, params, thrown errors and
 * rejected promises to `next`, a handler that passes the request on reported as an error).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { predictionFastPath } from '../../src/http/prediction-fast-path.js';

function run(fastPath: RequestHandler, method: string, url: string): Promise<{ passedOn: boolean; error: unknown; req: Request }> {
  const req = { method, url, params: {} } as unknown as Request;
  return new Promise((resolve) => {
    const next: NextFunction = (error?: unknown) => resolve({ passedOn: error === undefined, error, req });
    fastPath(req, {} as Response, next);
    // A chain that answers never calls next: resolve once it has run.
    setImmediate(() => resolve({ passedOn: false, error: undefined, req }));
  });
}

describe('prediction fast path', () => {
  const calls: string[] = [];
  const step =
    (name: string): RequestHandler =>
    (_req, _res, next) => {
      calls.push(name);
      next();
    };
  const answer =
    (name: string): RequestHandler =>
    (req) => {
      calls.push(`${name}:${JSON.stringify(req.params)}`);
    };
  const fastPath = predictionFastPath({
    appMiddleware: [step('context'), step('log')],
    predict: [step('label'), answer('predict')],
    invocations: [step('label'), answer('invocations')],
  });

  it('takes exact spellings and runs the app middleware, then the route, with its params', async () => {
    calls.length = 0;
    assert.equal((await run(fastPath, 'POST', '/models/churn-v2.1/predict')).passedOn, false);
    assert.equal((await run(fastPath, 'POST', '/endpoints/local-mme/invocations')).passedOn, false);
    assert.deepEqual(calls, ['context', 'log', 'label', 'predict:{"model":"churn-v2.1"}', 'context', 'log', 'label', 'invocations:{"endpoint":"local-mme"}']);
  });

  it('leaves every other spelling and method to the router', async () => {
    calls.length = 0;
    for (const [method, url] of [
      ['GET', '/models/churn/predict'],
      ['POST', '/models/churn/predict?x=1'],
      ['POST', '/models/ch%75rn/predict'],
      ['POST', '/models/churn/predict/'],
      ['POST', '/Models/churn/predict'],
      ['POST', '/models/a/b/predict'],
      ['POST', '/models//predict'],
      ['POST', '/models/churn/warm'],
      ['POST', '/endpoints/x/invocations/extra'],
    ] as const) {
      assert.equal((await run(fastPath, method, url)).passedOn, true, `${method} ${url}`);
    }
    assert.deepEqual(calls, []);
  });

  it('sends thrown errors, rejected promises and a chain that runs out to next(error)', async () => {
    const boom = new Error('boom');
    const throwing = predictionFastPath({ appMiddleware: [], predict: [() => { throw boom; }], invocations: [] });
    assert.equal((await run(throwing, 'POST', '/models/m/predict')).error, boom);
    const rejecting = predictionFastPath({ appMiddleware: [], predict: [async () => Promise.reject(boom)], invocations: [] });
    assert.equal((await run(rejecting, 'POST', '/models/m/predict')).error, boom);
    const passing = predictionFastPath({ appMiddleware: [step('only')], predict: [], invocations: [] });
    const ranOut = await run(passing, 'POST', '/models/m/predict');
    assert.match(String(ranOut.error), /passed the request on without answering/);
  });
});
