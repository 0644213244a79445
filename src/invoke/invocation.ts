/**
 * One invocation as the invoker sees it: what the caller asked for (the request), and what the
 * HTTP layer reads back once it is over (the trace: cold or warm and why, attempts, upstream
 * request id).
 */
import type { ResolvedModel } from '../catalog.js';
import type { ColdReason, StartKind } from './cold-evidence.js';
import type { InvokeEndpointInput, InvokeEndpointOutput, InvokeEndpointParams } from './transport.js';

export interface InvocationRequest {
  model: ResolvedModel;
  input: InvokeEndpointInput;
  /** The caller's own timeout in ms (deadline header), if it sent one. */
  callerTimeoutMs: number | undefined;
  /** When the gateway received the request, on the invoker's clock (performance.now()). */
  receivedAt: number;
  /** Aborts when the caller has gone (its connection closed); absent for gateway-made calls. */
  signal?: AbortSignal | undefined;
  /**
   * How long the request may wait for a model that is still loading, when that is shorter than
   * its deadline (the SageMaker-compatible route's ready wait); then MODEL_NOT_READY.
   */
  loadWaitMs?: number | undefined;
}

/** Filled in while the invocation runs; read by the HTTP layer for headers and the access log. */
export interface InvocationTrace {
  /** The X-Model-Start label: cold when `coldReason` is set, once the invocation is over. */
  modelStart: StartKind;
  /** The evidence that made the call cold (the first found), if any. */
  coldReason: ColdReason | undefined;
  /** The catalog target that served (or was tried last): its bounded label. */
  target?: string | undefined;
  attempts: number;
  upstreamRequestId: string | undefined;
  /** Set when an attempt already sent upstream was aborted because the caller left. */
  upstreamAborted?: boolean;
}

/** A trace before anything happened: warm until evidence says otherwise. */
export function newTrace(): InvocationTrace {
  return { modelStart: 'warm', coldReason: undefined, attempts: 0, upstreamRequestId: undefined };
}

export type InvocationResult = InvokeEndpointOutput;

/** The InvokeEndpoint parameters of a request (the same for each of its attempts). */
export function invokeEndpointParams({ model, input }: InvocationRequest): InvokeEndpointParams {
  const { endpointName, targetModel, inferenceComponent, targetContainerHostname } = model.address;
  // Every field written out (no spread of the input): one object of one fixed shape per request.
  return {
    body: input.body,
    contentType: input.contentType,
    accept: input.accept,
    customAttributes: input.customAttributes,
    inferenceId: input.inferenceId,
    endpoint: endpointName,
    upstream: model.upstream.key,
    targetModel,
    inferenceComponent,
    targetContainerHostname,
    // A variant the catalog pins wins; otherwise the caller's choice goes through.
    targetVariant: model.address.targetVariant ?? input.targetVariant,
  };
}
