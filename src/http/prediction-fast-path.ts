/**
 * The two prediction routes matched ahead of Express's router. Express walks every app-level
 * middleware and router layer for each request, each step through its `next` machinery (a
 * tenth of the gateway's CPU on the warm path). Here one precompiled test on the raw URL picks
 * the route, then the very handlers the app and the route declare run in the same order,
 * called directly with Express's own contract (a thrown error or rejected promise goes to
 * `next(error)`). Errors leave through the app's `next`, so the app's error handlers answer
 * them exactly as before.
 *
 * Only exact spellings match (no query string, no percent-encoding: the captured name is then
 * what Express would decode it to); everything else takes the router, which runs the same
 * handlers. So behaviour does not depend on which way a request went.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

const PREDICTION_PATH = /^\/(?:models\/([^/?#%]+)\/predict|endpoints\/([^/?#%]+)\/invocations)$/;

export interface PredictionChains {
  /** Everything a request meets before the routes (app.use order). */
  appMiddleware: RequestHandler[];
  /** `POST /models/:model/predict`'s handlers. */
  predict: RequestHandler[];
  /** `POST /endpoints/:endpoint/invocations`'s handlers. */
  invocations: RequestHandler[];
}

/**
 * Runs handlers in order with Express's semantics; errors go to `fail`. A route's last handler
 * always answers; one that passed the request on would be a bug, reported as one (500) rather
 * than sent through the app's middleware a second time.
 */
function runChain(handlers: readonly RequestHandler[], req: Request, res: Response, fail: NextFunction): void {
  let index = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined && error !== null) {
      fail(error);
      return;
    }
    const handler = handlers[index++];
    if (!handler) {
      fail(new Error(`${req.method} ${req.url}: the route passed the request on without answering`));
      return;
    }
    try {
      const result: unknown = handler(req, res, next);
      if (result instanceof Promise) result.then(undefined, (rejection: unknown) => next(rejection ?? new Error('Rejected promise')));
    } catch (thrown) {
      next(thrown);
    }
  };
  next();
}

export function predictionFastPath(chains: PredictionChains): RequestHandler {
  const predict = [...chains.appMiddleware, ...chains.predict];
  const invocations = [...chains.appMiddleware, ...chains.invocations];
  return (req, res, next) => {
    const match = req.method === 'POST' ? PREDICTION_PATH.exec(req.url) : null;
    if (!match) {
      next();
      return;
    }
    if (match[1] !== undefined) {
      req.params = { model: match[1] };
      runChain(predict, req, res, next);
    } else {
      req.params = { endpoint: match[2]! };
      runChain(invocations, req, res, next);
    }
  };
}
