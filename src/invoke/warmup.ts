/**
 * Warm-up: load a model ahead of traffic. POST /models/{model}/warm, MODEL_PRELOAD and
 * keep-warm all warm through here. The payload is the caller's, else the catalog's warm-up payload, else a
 * one-line probe. Any answer from the container, even its own 4xx for a probe it cannot
 * parse, proves SageMaker has loaded the model.
 */
import type { ResolvedModel } from '../catalog.js';
import { isGatewayError } from '../errors.js';
import type { InvokeEndpointInput } from './transport.js';

/** A body a caller sent to warm with, and its content type. */
export interface WarmupBody {
  contentType: string;
  body: Uint8Array;
}

/** An empty CSV line: cheap for every container to answer (or refuse) once loaded. */
const DEFAULT_PROBE = { contentType: 'text/csv', body: '\n' };

/** What a warm-up sends: the payload alone, none of SageMaker's optional headers. */
function warmupInput(model: ResolvedModel, fromCaller: WarmupBody | undefined): InvokeEndpointInput {
  const payload = fromCaller ?? model.warmup ?? DEFAULT_PROBE;
  const body = typeof payload.body === 'string' ? Buffer.from(payload.body) : payload.body;
  return { body, contentType: payload.contentType, accept: undefined, customAttributes: undefined, inferenceId: undefined, targetVariant: undefined };
}

/**
 * Warms `model`: `invoke` runs the invocation (the route through run-prediction, so it is
 * logged like any request; the preload straight on the invoker; both are measured by it).
 * Resolves with the container's answer: 'success', or `model_error_<status>` when the container
 * refused the payload with a 4xx (the model is loaded all the same); rejects with anything else.
 */
export async function warmUp(
  model: ResolvedModel,
  fromCaller: WarmupBody | undefined,
  invoke: (input: InvokeEndpointInput) => Promise<unknown>,
): Promise<string> {
  try {
    await invoke(warmupInput(model, fromCaller));
    return 'success';
  } catch (error) {
    if (isGatewayError(error) && error.code === 'MODEL_ERROR' && error.status < 500) return `model_error_${error.status}`;
    throw error;
  }
}
