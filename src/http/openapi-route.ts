/** GET /openapi.yaml: the REST contract, read once at start-up from the repo's openapi.yaml. */
import { readFileSync } from 'node:fs';
import type { Router } from 'express';
import { requireAccess } from './auth.js';
import { strictRouter } from './strict-router.js';
import { routeLabel } from './request-context.js';

/** From src/http (tsx) and dist/http (compiled) alike, the file sits two levels up. */
export const OPENAPI_PATH = new URL('../../openapi.yaml', import.meta.url);

export function openApiRouter(): Router {
  const document = readFileSync(OPENAPI_PATH, 'utf8');
  const router = strictRouter();
  router.get('/openapi.yaml', routeLabel('/openapi.yaml'), requireAccess('key'), (_req, res) => {
    res.type('application/yaml').send(document);
  });
  return router;
}
