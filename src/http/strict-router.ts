/**
 * Every router of the gateway matches paths exactly: case-sensitive, no optional trailing slash.
 * Express's defaults match `/METRICS` and `/metrics/` as `/metrics`, so any decision taken on a
 * path string elsewhere (access rules, labels) could disagree with the route that runs. Express
 * routers do not inherit the app's settings, so each one is made here with the same options.
 */
import { Router } from 'express';

export const STRICT_ROUTING = { caseSensitive: true, strict: true } as const;

export function strictRouter(): Router {
  return Router(STRICT_ROUTING);
}
