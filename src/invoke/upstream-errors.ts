/**
 * Classifies what came back from one InvokeEndpoint attempt: whether it is worth retrying,
 * which circuit breaker it counts against, and which gateway error the caller finally sees.
 * The AWS SDK names its exceptions after SageMaker's error types (`error.name`). Each failed
 * attempt is classified once, into an UpstreamFailure that carries the verdict to the breakers,
 * the retry loop and the caller's error.
 */
import { gatewayError, isGatewayError, type GatewayError } from '../errors.js';
import type { InvocationOutcome } from '../metrics.js';

export type UpstreamErrorKind =
  | 'not_ready'
  /** An inference component with no copies (scale-to-zero): a cold start, see scale-from-zero.ts. */
  | 'no_capacity'
  | 'model_error'
  | 'validation'
  | 'model_not_found'
  | 'throttled'
  | 'unavailable'
  | 'internal'
  | 'timeout'
  | 'deadline'
  | 'connection'
  | 'abandoned'
  | 'unknown';

/** Thrown by the invoker when it aborts an attempt itself. */
export class AttemptTimeoutError extends Error {
  override name = 'AttemptTimeoutError';
  constructor(
    readonly timeoutMs: number,
    /** True when the caller's deadline (not the upstream socket timeout) cut the attempt short. */
    readonly byDeadline: boolean,
  ) {
    super(`InvokeEndpoint attempt aborted after ${timeoutMs} ms`);
  }
}

/** Thrown by the invoker when it aborts an attempt because the caller it was made for has gone. */
export class AttemptAbandonedError extends Error {
  override name = 'AttemptAbandonedError';
  constructor() {
    super('InvokeEndpoint attempt aborted: the caller closed its connection');
  }
}

/** The error a departed caller's invocation ends with (no one receives it; logs and metrics do). */
export function callerGoneError(): GatewayError {
  return gatewayError('CLIENT_CLOSED_REQUEST', 'The caller closed its connection before the answer.');
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  OriginalStatusCode?: number;
  OriginalMessage?: string;
  LogStreamArn?: string;
}

/**
 * How SageMaker words a TargetModel with no object under the endpoint's S3 prefix: a
 * ValidationError "Failed to download model data (bucket: …, key: …). Please ensure that there
 * is an object located at the URL …". Matched on the start of the message only, so no other
 * ValidationError (bad header, payload too large, …) can pass for a missing model. SageMaker uses
 * the same words when the endpoint's role may not read the object; the detail keeps its message.
 */
const MISSING_MODEL_ARCHIVE = /^Failed to download model data\b/;

export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  if (error instanceof AttemptTimeoutError) return error.byDeadline ? 'deadline' : 'timeout';
  if (error instanceof AttemptAbandonedError) return 'abandoned';
  const e = (error ?? {}) as SdkLikeError;
  switch (e.name) {
    case 'ModelNotReadyException':
      return 'not_ready';
    case 'InferenceComponentNoCapacity':
      return 'no_capacity';
    case 'ModelError':
      return 'model_error';
    case 'ValidationError':
    case 'ValidationException':
      return MISSING_MODEL_ARCHIVE.test(e.message ?? '') ? 'model_not_found' : 'validation';
    case 'ThrottlingException':
      return 'throttled';
    case 'ServiceUnavailable':
      return 'unavailable';
    case 'InternalFailure':
    case 'InternalDependencyException':
      return 'internal';
    case 'TimeoutError':
      return 'timeout';
  }
  if (e.code && TIMEOUT_CODES.has(e.code)) return 'timeout';
  if (e.code && CONNECTION_CODES.has(e.code)) return 'connection';
  const status = e.$metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if (status === 503) return 'unavailable';
  if (status !== undefined && status >= 500) return 'internal';
  if (/socket hang up|ECONNRESET/i.test(e.message ?? '')) return 'connection';
  return 'unknown';
}

/** Worth another attempt after a short backoff (bounded by the retry budget). */
export function isTransient(kind: UpstreamErrorKind): boolean {
  return kind === 'throttled' || kind === 'unavailable' || kind === 'internal' || kind === 'timeout' || kind === 'connection';
}

/** Counts against the endpoint breaker: the endpoint itself is struggling. */
export function isEndpointFailure(kind: UpstreamErrorKind): boolean {
  return isTransient(kind);
}

/**
 * Counts against the model breaker: the model's container is failing (5xx), or its load failed
 * (SageMaker answers a failed load as a 5xx ModelError), not the caller's input.
 */
export function isModelFailure(kind: UpstreamErrorKind, error: unknown): boolean {
  if (kind !== 'model_error') return false;
  const original = (error as SdkLikeError).OriginalStatusCode;
  return original === undefined || original >= 500;
}

/**
 * One failed attempt, classified once: the original error and what it means for retries and
 * for each breaker. The invoker wraps every upstream rejection in one of these.
 */
export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
  readonly kind: UpstreamErrorKind;
  readonly endpointFailure: boolean;
  readonly modelFailure: boolean;

  constructor(readonly error: unknown) {
    super((error as Error | undefined)?.message ?? 'upstream failure');
    this.kind = classifyUpstreamError(error);
    this.endpointFailure = isEndpointFailure(this.kind);
    this.modelFailure = isModelFailure(this.kind, error);
  }

  /** The container answered the caller's input with its own 4xx: the model is loaded and working. */
  get containerAnswered(): boolean {
    return this.kind === 'model_error' && !this.modelFailure;
  }
}

const MAX_ORIGINAL_MESSAGE = 1024;

/** The error the caller sees for a final upstream failure. */
/** The one GatewayError a failure reaches callers as: a GatewayError as it is, anything else classified. */
export function asGatewayError(error: unknown): GatewayError {
  return isGatewayError(error) ? error : toGatewayError(error);
}

export function toGatewayError(error: unknown, kind: UpstreamErrorKind = classifyUpstreamError(error)): GatewayError {
  const e = (error ?? {}) as SdkLikeError;
  const message = e.message ?? 'unknown error';
  switch (kind) {
    case 'model_error': {
      const original = e.OriginalStatusCode;
      const originalMessage = (e.OriginalMessage ?? message).slice(0, MAX_ORIGINAL_MESSAGE);
      return gatewayError('MODEL_ERROR', `The model container answered ${original ?? 'an error'}: ${originalMessage}`, {
        status: original !== undefined && original >= 400 && original < 500 ? original : 502,
        extensions: { originalStatus: original ?? null, originalMessage },
      });
    }
    case 'validation':
      return gatewayError('UPSTREAM_VALIDATION_ERROR', `SageMaker ValidationError: ${message.slice(0, MAX_ORIGINAL_MESSAGE)}`);
    case 'model_not_found':
      return gatewayError('MODEL_NOT_FOUND', `The endpoint has no archive for this model. SageMaker ValidationError: ${message.slice(0, MAX_ORIGINAL_MESSAGE)}`);
    case 'throttled':
      return gatewayError('UPSTREAM_THROTTLED', 'SageMaker throttled the request.', { retryAfterSeconds: 1 });
    case 'unavailable':
      return gatewayError('UPSTREAM_UNAVAILABLE', 'The SageMaker endpoint is unavailable.', { retryAfterSeconds: 1 });
    case 'timeout':
      return gatewayError('UPSTREAM_TIMEOUT', 'SageMaker did not answer within the upstream timeout.');
    case 'deadline':
      return gatewayError('DEADLINE_EXCEEDED', 'The request deadline passed before SageMaker answered.');
    case 'connection':
      return gatewayError('UPSTREAM_UNREACHABLE', `Cannot reach the SageMaker endpoint (${e.code ?? 'connection error'}).`);
    case 'abandoned':
      return callerGoneError();
    case 'internal':
      return gatewayError('UPSTREAM_ERROR', `SageMaker ${e.name ?? 'error'}: ${message.slice(0, MAX_ORIGINAL_MESSAGE)}`);
    default:
      return gatewayError('UPSTREAM_ERROR', 'SageMaker returned an unexpected error.', { cause: error });
  }
}

/** The `outcome` label of a whole invocation, from the gateway error the caller got. */
export function invocationOutcome(error: GatewayError): InvocationOutcome {
  switch (error.code) {
    case 'MODEL_ERROR':
      return error.status < 500 ? 'client_error' : 'model_error';
    case 'MODEL_NOT_READY':
      return 'not_ready';
    case 'QUEUE_FULL':
      return 'queue_full';
    case 'CIRCUIT_OPEN':
      return 'circuit_open';
    case 'UPSTREAM_TIMEOUT':
    case 'DEADLINE_EXCEEDED':
      return 'timeout';
    case 'UPSTREAM_THROTTLED':
      return 'throttled';
    case 'CLIENT_CLOSED_REQUEST':
      return 'abandoned';
    default:
      return error.status < 500 ? 'client_error' : 'upstream_error';
  }
}
