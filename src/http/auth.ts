/**
 * API-key checks for the HTTP routes (see src/access-control.ts). Access is decided on the route
 * that actually runs: each route declares its rule (`requireAccess`), so no path spelling can
 * reach a route under another route's rule; with access control on, anything unmatched needs a
 * key too. The key comes in `Authorization: Bearer <key>` or `X-Api-Key: <key>` (the
 * SageMaker-compatible route needs the latter: there Authorization carries the caller's SigV4
 * signature, which is not identity).
 */
import type { NextFunction, Request, Response } from 'express';
import { type ApiKeyRegistry, type Principal, mayUseAnyModel, mayUseEndpoint } from '../access-control.js';
import type { ResolvedModel } from '../catalog.js';
import { gatewayError } from '../errors.js';
import { locals } from './request-context.js';

export interface AuthSettings {
  keys: ApiKeyRegistry | undefined;
  metricsRequireKey: boolean;
}

/**
 * What a route asks of its caller: `open` (health checks, for the load balancer), `metrics`
 * (a key with `metrics: true`, when METRICS_REQUIRE_API_KEY is on), `key` (any valid key; the
 * model and endpoint are then checked by `authorizeTarget` once the route has resolved them).
 */
export type AccessRule = 'open' | 'metrics' | 'key';

interface AuthLocals {
  authSettings?: AuthSettings;
  principal?: Principal;
}

const BEARER = /^bearer +(\S+) *$/i;

function presentedKey(req: Request): string | undefined {
  const header = req.get('x-api-key');
  if (header) return header;
  return BEARER.exec(req.get('authorization') ?? '')?.[1];
}

/** Makes the settings available to every route's rule; decides nothing itself. */
export function accessControl(settings: AuthSettings) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    (res.locals as AuthLocals).authSettings = settings;
    next();
  };
}

/**
 * The one access decision for a matched route (callable from any handler, or from a fast path
 * that matched the route itself): 401 when a key is needed and missing or unknown, 403 when
 * the key may not read /metrics. Records the caller's id (never the key) for the access log.
 */
export function decideAccess(settings: AuthSettings, req: Request, res: Response, rule: AccessRule): void {
  if (!settings.keys || rule === 'open' || (rule === 'metrics' && !settings.metricsRequireKey)) return;
  const key = presentedKey(req);
  const principal = key === undefined ? undefined : settings.keys.authenticate(key);
  if (!principal) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="mme-gateway"');
    throw gatewayError('UNAUTHORIZED', 'Send a valid API key in "Authorization: Bearer <key>" or "X-Api-Key".');
  }
  (res.locals as AuthLocals).principal = principal;
  locals(res).access.caller = principal.id;
  if (rule === 'metrics' && !principal.metrics) {
    throw gatewayError('FORBIDDEN', 'This API key may not read /metrics.');
  }
}

/** The route's access rule as a handler, placed right after the route's label. */
export function requireAccess(rule: AccessRule) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const settings = (res.locals as AuthLocals).authSettings;
    if (!settings) throw new Error('accessControl() must run before any route');
    decideAccess(settings, req, res, rule);
    next();
  };
}

/**
 * 403 unless the caller's key allows one of the model names that reach this target (and, for
 * the wire route, its endpoint). Names, not targets, are what keys list; the catalog says which
 * names reach a target, so both routes decide the same way.
 */
export function authorizeTarget(
  res: Response,
  model: ResolvedModel,
  names: readonly string[],
  options: { checkEndpoint?: boolean } = {},
): void {
  const principal = (res.locals as AuthLocals).principal;
  if (!principal) return; // access control off
  if (!mayUseAnyModel(principal, names) || (options.checkEndpoint && !mayUseEndpoint(principal, model.address.endpointName))) {
    throw gatewayError('FORBIDDEN', `This API key may not use model "${model.name}" on endpoint "${model.address.endpointName}".`);
  }
}

/**
 * Which models the caller may see in listings: those reached by a name its key lists;
 * undefined when access control is off (every model), so a listing skips the check entirely.
 */
export function listingFilter(res: Response): ((names: readonly string[]) => boolean) | undefined {
  const principal = (res.locals as AuthLocals).principal;
  return principal && ((names) => mayUseAnyModel(principal, names));
}
