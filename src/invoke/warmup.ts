/**
 * Warm-up: load a model ahead of traffic. The payload is the caller's, else the catalog's
 * warm-up payload, else a one-line probe. Any answer from the container, even its own 4xx
 * for a probe it cannot parse, proves SageMaker has loaded the model.
 */
import type { ResolvedModel } from '../catalog.js';
import { isGatewayError } from '../errors.js';

export interface WarmupPayloadBytes {
  contentType: string;
  body: Buffer;
}

/** An empty CSV line: cheap for every container to answer (or refuse) once loaded. */
const DEFAULT_PROBE = { contentType: 'text/csv', body: '\n' };

export function warmupPayload(model: ResolvedModel, fromCaller?: WarmupPayloadBytes): WarmupPayloadBytes {
  if (fromCaller) return fromCaller;
  const payload = model.warmup ?? DEFAULT_PROBE;
  return { contentType: payload.contentType, body: Buffer.from(payload.body) };
}

/**
 * 'success', or `model_error_<status>` when the container refused the payload with a 4xx
 * (the model is loaded all the same); rethrows anything else.
 */
export function warmupAnswer(error?: unknown): string {
  if (error === undefined) return 'success';
  if (isGatewayError(error) && error.code === 'MODEL_ERROR' && error.status < 500) return `model_error_${error.status}`;
  throw error;
}
