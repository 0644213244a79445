/**
 * API-key checks for the HTTP routes (see src/access-control.ts). The key comes in
 * `Authorization: Bearer <key>` or `X-Api-Key: <key>` (the SageMaker-compatible route needs the
 * latter: there Authorization carries the caller's SigV4 signature, which is not identity).
 */
import type { NextFunction, Request, Response } from 'express';
import { type ApiKeyRegistry, type Principal, mayUseEndpoint, mayUseModel } from '../access-control.js';
import type { ResolvedModel } from '../catalog.js';
import { gatewayError } from '../errors.js';
import { locals } from './request-context.js';

const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

interface AuthLocals {
  principal?: Principal;
}

function presentedKey(req: Request): string | undefined {
  const header = req.get('x-api-key');
  if (header) return header;
  const authorization = req.get('authorization');
  return authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
}

export interface AuthSettings {
  keys: ApiKeyRegistry | undefined;
  metricsRequireKey: boolean;
}

/** Authenticates every request but the health checks; 401 when the key is missing or unknown. */
export function authenticate(settings: AuthSettings) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!settings.keys || OPEN_ROUTES.has(req.path) || (req.path === '/metrics' && !settings.metricsRequireKey)) {
      next();
      return;
    }
    const key = presentedKey(req);
    const principal = key === undefined ? undefined : settings.keys.authenticate(key);
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="mme-gateway"');
      throw gatewayError('UNAUTHORIZED', 'Send a valid API key in "Authorization: Bearer <key>" or "X-Api-Key".');
    }
    (res.locals as AuthLocals).principal = principal;
    locals(res).access.caller = principal.id;
    if (req.path === '/metrics' && !principal.metrics) {
      throw gatewayError('FORBIDDEN', 'This API key may not read /metrics.');
    }
    next();
  };
}

/** 403 unless the caller's key allows this model (and, for the wire route, its endpoint). */
export function authorizeModel(res: Response, model: ResolvedModel, options: { checkEndpoint?: boolean } = {}): void {
  const principal = (res.locals as AuthLocals).principal;
  if (!principal) return; // access control off
  if (!mayUseModel(principal, model.name) || (options.checkEndpoint && !mayUseEndpoint(principal, model.address.endpointName))) {
    throw gatewayError('FORBIDDEN', `This API key may not use model "${model.name}" on endpoint "${model.address.endpointName}".`);
  }
}

/** Whether the caller may see this model in listings (always, when access control is off). */
export function visibleTo(res: Response, modelName: string): boolean {
  const principal = (res.locals as AuthLocals).principal;
  return !principal || mayUseModel(principal, modelName);
}
