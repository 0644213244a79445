/**
 * The one place where errors become HTTP answers: application/problem+json (RFC 9457) with a
 * stable `code`, the request id and, for prediction routes, the model. Anything that is not
 * a GatewayError is logged with its stack and answered as a bare 500 without internals.
 */
import type { NextFunction, Request, Response } from 'express';
import { GatewayError, gatewayError, isGatewayError } from '../errors.js';
import { locals } from './request-context.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_PREFIX = 'urn:mme-gateway:problem:';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  model?: string;
  [extension: string]: unknown;
}

export function problemBody(error: GatewayError, requestId: string, model: string | undefined): ProblemBody {
  return {
    ...error.extensions,
    type: `${PROBLEM_TYPE_PREFIX}${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId,
    ...(model !== undefined ? { model } : {}),
  };
}

/** Errors thrown by body-parser, express and path decoding carry an HTTP status and a type. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

export function asGatewayError(error: unknown): GatewayError | undefined {
  if (isGatewayError(error)) return error;
  const e = error as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (typeof status !== 'number' || status >= 500) return undefined;
  if (e.type === 'entity.too.large' || status === 413) {
    return gatewayError('PAYLOAD_TOO_LARGE', 'The request body exceeds the limit (SageMaker accepts at most 6 MiB).');
  }
  if (e.type === 'encoding.unsupported' || status === 415) {
    return gatewayError('UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding is not supported: send the body uncompressed.');
  }
  if (e.type === 'request.aborted') return gatewayError('INVALID_REQUEST', 'The client aborted the request body.');
  return gatewayError('INVALID_REQUEST', 'The request could not be read (malformed URL, headers or body).');
}

/**
 * Records the error's code for the access line; false when an answer has already started, in
 * which case the connection is cut (the caller sees a broken answer, never a spliced one).
 */
export function mayAnswerError(res: Response, error: GatewayError): boolean {
  locals(res).access.code = error.code;
  if (!res.headersSent) return true;
  res.destroy();
  return false;
}

export function sendProblem(res: Response, error: GatewayError): void {
  const context = locals(res);
  if (!mayAnswerError(res, error)) return;
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res
    .status(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemBody(error, context.requestId, context.access.model)));
}

export function notFoundHandler(req: Request, res: Response): void {
  sendProblem(res, gatewayError('NOT_FOUND', `No route for ${req.method} ${req.path}.`));
}

export function errorHandler() {
  // Express recognises error middleware by its four parameters.
  return (error: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const known = asGatewayError(error);
    if (known) {
      sendProblem(res, known);
      return;
    }
    locals(res).logger.error('unhandled error', {
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    });
    sendProblem(res, gatewayError('INTERNAL_ERROR', 'An internal error occurred; the request id identifies it in the logs.'));
  };
}
