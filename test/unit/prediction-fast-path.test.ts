/**
 * predictionFastPath alone: which spellings it takes (only exact ones; the router gets the
 * rest), and that it runs a route with Express's contract (order, params, thrown errors and
 * rejected promises to the route's error handlers in order, then to the app's final handler;
 * a handler that passes the request on reported as an error). dispatchAheadOfRouter on a real
 * Express app: taken requests never reach the router, the rest do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import request from 'supertest';
import { type PredictionChains, dispatchAheadOfRouter, predictionFastPath } from '../../src/http/prediction-fast-path.js';

interface Dispatched {
  taken: boolean;
  /** What reached the app's final handler, if anything did. */
  final: unknown;
  req: Request;
}

function dispatch(chains: PredictionChains, method: string, url: string): Promise<Dispatched> {
  const req = { method, url, params: {} } as unknown as Request;
  return new Promise((resolve) => {
    let taken = false;
    const done: NextFunction = (error?: unknown) => resolve({ taken, final: error, req });
    taken = predictionFastPath(chains)(req, {} as Response, done);
    // A route that answers never calls done: resolve once it has run.
    setImmediate(() => resolve({ taken, final: undefined, req }));
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
  const answerError =
    (name: string): ErrorRequestHandler =>
    (error: unknown) => {
      calls.push(`${name}:${String(error)}`);
    };
  const passError =
    (name: string): ErrorRequestHandler =>
    (error: unknown, _req, _res, next) => {
      calls.push(`${name} passes`);
      next(error);
    };
  const route = (handlers: RequestHandler[], errorHandlers: ErrorRequestHandler[] = []) => ({ handlers, errorHandlers });
  const chains: PredictionChains = {
    predict: route([step('context'), step('log'), step('label'), answer('predict')]),
    invocations: route([step('context'), step('log'), step('label'), answer('invocations')]),
  };

  it('takes exact spellings and runs the app middleware, then the route, with its params', async () => {
    calls.length = 0;
    const predict = await dispatch(chains, 'POST', '/models/churn-v2.1/predict');
    const invocations = await dispatch(chains, 'POST', '/endpoints/local-mme/invocations');
    assert.equal(predict.taken, true);
    assert.equal(invocations.taken, true);
    assert.equal(predict.req.originalUrl, '/models/churn-v2.1/predict');
    assert.equal(predict.req.baseUrl, '');
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
      const seen = await dispatch(chains, method, url);
      assert.equal(seen.taken, false, `${method} ${url}`);
      assert.equal(seen.final, undefined, `${method} ${url}`);
    }
    assert.deepEqual(calls, []);
  });

  it('sends thrown errors and rejected promises to the route’s error handlers, in order', async () => {
    const boom = new Error('boom');
    calls.length = 0;
    const throwing = { ...chains, predict: route([() => { throw boom; }], [passError('runtime'), answerError('problem')]) };
    assert.equal((await dispatch(throwing, 'POST', '/models/m/predict')).final, undefined);
    const rejecting = { ...chains, invocations: route([async () => Promise.reject(boom)], [answerError('problem')]) };
    assert.equal((await dispatch(rejecting, 'POST', '/endpoints/e/invocations')).final, undefined);
    assert.deepEqual(calls, ['runtime passes', 'problem:Error: boom', 'problem:Error: boom']);
  });

  it('hands an error every error handler passes on, or a chain that runs out, to the app’s final handler', async () => {
    const boom = new Error('boom');
    const unanswered = { ...chains, predict: route([() => { throw boom; }], [passError('runtime')]) };
    assert.equal((await dispatch(unanswered, 'POST', '/models/m/predict')).final, boom);
    const ranOut = { ...chains, predict: route([step('only')]) };
    assert.match(String((await dispatch(ranOut, 'POST', '/models/m/predict')).final), /passed the request on without answering/);
  });

  it('runs ahead of a real app’s router: taken requests never reach it, the rest do', async () => {
    const app = express();
    const reachedRouter: string[] = [];
    app.use((req, res) => {
      reachedRouter.push(req.url);
      res.status(404).send('router');
    });
    dispatchAheadOfRouter(
      app,
      predictionFastPath({
        predict: route([(req, res) => void res.send(`fast ${String(req.params['model'])} ${typeof res.status}`)]),
        invocations: route([(_req, res) => void res.send('fast invocations')]),
      }),
    );
    const fast = await request(app).post('/models/churn/predict');
    assert.equal(fast.text, 'fast churn function'); // Express's response helpers are there
    assert.equal((await request(app).post('/models/ch%75rn/predict')).text, 'router');
    assert.equal((await request(app).get('/healthz')).text, 'router');
    assert.deepEqual(reachedRouter, ['/models/ch%75rn/predict', '/healthz']);
  });
});
