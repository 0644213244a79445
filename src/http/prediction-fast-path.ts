/**
 * The two prediction routes matched ahead of Express's router. The router costs every request
 * its dispatch (url parsing, a `next` closure, per-layer matching and parameter processing):
 * measured at a tenth of the gateway's CPU on the warm path when the prediction routes were its
 * layers, and still a twentieth with this test as its first layer (docs/performance.md,
 * before requests shared their hidden classes; src/express-messages.ts). Here one precompiled test
 * on the raw URL picks the route inside the Express app (the app has already given req and
 * res Express's prototypes, `res.locals` and its final handler), then the very handlers the
 * app and the route declare run in the same order, called directly with Express's own contract
 * (a thrown error or rejected promise goes to `next(error)`), and an error meets the same
 * error handlers, in the same order, as on the router.
 *
 * Only exact spellings match (no query string, no percent-encoding: the captured name is then
 * what Express would decode it to); everything else goes to the router, which runs the same
 * handlers. So behaviour does not depend on which way a request went.
 */
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';

const PREDICTION_PATH = /^\/(?:models\/([^/?#%]+)\/predict|endpoints\/([^/?#%]+)\/invocations)$/;

/** A route as the fast path runs it: its handlers, then the app's error handlers that apply to it. */
export interface FastRoute {
  /** Everything a request meets, in order: the app's middleware, then the route's handlers. */
  handlers: RequestHandler[];
  /** The app's error handlers this route's errors meet, in order. */
  errorHandlers: ErrorRequestHandler[];
}

export interface PredictionChains {
  /** `POST /models/:model/predict`. */
  predict: FastRoute;
  /** `POST /endpoints/:endpoint/invocations`. */
  invocations: FastRoute;
}

/**
 * Runs a route with Express's semantics: handlers in order, then, once one fails, the error
 * handlers in order. A route's last handler always answers; one that passed the request on
 * would be a bug, reported as one (500) rather than sent through the app a second time. An
 * error every error handler passes on goes to `done`, the app's final handler.
 */
function runRoute(route: FastRoute, req: Request, res: Response, done: NextFunction): void {
  let index = 0;
  let errorIndex = 0;
  const fail = (error: unknown): void => {
    const handler = route.errorHandlers[errorIndex++];
    if (!handler) {
      done(error);
      return;
    }
    try {
      // The app's error handlers answer or pass the error on. A bare next() would make Express
      // resume with the next plain middleware; none of them does that, so here it passes the error on.
      handler(error, req, res, (passed?: unknown) => fail(passed ?? error));
    } catch (thrown) {
      fail(thrown);
    }
  };
  const next = (error?: unknown): void => {
    if (error !== undefined && error !== null) {
      fail(error);
      return;
    }
    const handler = route.handlers[index++];
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

/**
 * The fast path as a dispatcher: runs the request and returns true when it is an exact spelling
 * of a prediction route; returns false, having done nothing, otherwise.
 */
export function predictionFastPath(chains: PredictionChains): (req: Request, res: Response, done: NextFunction) => boolean {
  return (req, res, done) => {
    const match = req.method === 'POST' ? PREDICTION_PATH.exec(req.url) : null;
    if (!match) return false;
    // What the router would have set for a route's handlers.
    req.baseUrl = '';
    req.originalUrl = req.url;
    if (match[1] !== undefined) {
      req.params = { model: match[1] };
      runRoute(chains.predict, req, res, done);
    } else {
      req.params = { endpoint: match[2]! };
      runRoute(chains.invocations, req, res, done);
    }
    return true;
  };
}

type Dispatch = (req: Request, res: Response, done: NextFunction) => void;

/**
 * Puts a dispatcher ahead of the app's router: Express's own entry (app.handle) still runs for
 * every request, and the router runs only for requests the dispatcher did not take.
 */
export function dispatchAheadOfRouter(app: Express, dispatch: ReturnType<typeof predictionFastPath>): void {
  // Express 5's app.router is the `router` package's Router, whose handle(req, res, done) is its
  // documented entry point (@types/express leaves it out).
  const router = app.router as unknown as { handle: Dispatch };
  const routerHandle = router.handle.bind(router);
  router.handle = (req, res, done) => {
    if (!dispatch(req, res, done)) routerHandle(req, res, done);
  };
}
