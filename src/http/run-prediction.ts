/**
 * Runs one prediction for an HTTP request: records who/what in the access record, invokes
 * (the invoker measures it), and sets X-Model-Start whatever the result. Shared by the REST route, the
 * SageMaker-compatible route and warm-up so all three are measured and logged alike.
 */
import type { Response } from 'express';
import type { ResolvedModel } from '../catalog.js';
import { isGatewayError } from '../errors.js';
import { type InvocationRequest, type InvocationResult, type Invoker, newTrace } from '../invoke/invoker.js';
import type { PredictionInput } from './prediction-input.js';
import { locals } from './request-context.js';

export interface PredictionDeps {
  invoker: Invoker;
}

export function recordModel(res: Response, model: ResolvedModel): void {
  const context = locals(res);
  context.model = model;
  const { access } = context;
  access.model = model.name;
  access.endpoint = model.endpoint;
  access.targetModel = model.targetModel;
}

const ignore = () => undefined;

export interface PredictionOptions {
  /** See InvocationRequest.loadWaitMs (the SageMaker-compatible route's ready wait). */
  loadWaitMs?: number | undefined;
  /**
   * Keep going after the caller leaves (warm-up: the load was what was asked for, and a
   * waiting herd may depend on it). Otherwise the caller's departure cancels the invocation.
   */
  outlivesCaller?: boolean;
}

export function runPrediction(
  deps: PredictionDeps,
  res: Response,
  model: ResolvedModel,
  prediction: PredictionInput,
  options: PredictionOptions = {},
): Promise<InvocationResult> {
  const running = invokeAndRecord(deps, res, model, prediction, options);
  locals(res).invocationSettled = running.then(ignore, ignore);
  return running;
}

async function invokeAndRecord(
  deps: PredictionDeps,
  res: Response,
  model: ResolvedModel,
  { input, callerTimeoutMs }: PredictionInput,
  options: PredictionOptions,
): Promise<InvocationResult> {
  const context = locals(res);
  recordModel(res, model);
  context.access.bytesIn = input.body.length;
  const trace = newTrace();
  try {
    const request: InvocationRequest = {
      model,
      input,
      callerTimeoutMs,
      receivedAt: context.receivedAt,
      signal: options.outlivesCaller ? undefined : context.signal,
      loadWaitMs: options.loadWaitMs,
    };
    const result = await deps.invoker.invoke(request, trace);
    context.access.bytesOut = result.body.length;
    return result;
  } catch (error) {
    if (isGatewayError(error)) context.access.code = error.code; // before the access line of a caller who left
    throw error;
  } finally {
    const { access } = context;
    access.start = trace.modelStart;
    access.coldReason = trace.coldReason;
    access.target = trace.target;
    access.attempts = trace.attempts;
    access.upstreamRequestId = trace.upstreamRequestId;
    if (trace.upstreamAborted) access.upstreamAborted = true;
    if (!res.headersSent) {
      res.setHeader('X-Model-Start', trace.modelStart);
      if (trace.target !== undefined) res.setHeader('X-Model-Target', trace.target);
    }
  }
}

/** Node's Buffer view of the SDK's Uint8Array, without copying. */
export function asBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
