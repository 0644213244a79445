/**
 * Validates what a caller sends with a prediction (headers and body) before anything goes
 * upstream. The header names are SageMaker Runtime's own, so the REST route and the
 * SageMaker-compatible route read the same headers the same way.
 */
import type { Request, Response } from 'express';
import { parse as parseContentType } from 'content-type';
import { gatewayError } from '../errors.js';
import type { InvokeEndpointInput } from '../invoke/transport.js';
import { MAX_NAME_LENGTH, isSageMakerName } from '../sagemaker-wire.js';

export const DEADLINE_HEADER = 'x-request-timeout-ms';
export const MAX_CALLER_TIMEOUT_MS = 3_600_000;
/** SageMaker's limit on Content-Type, Accept and CustomAttributes. */
const MAX_HEADER_LENGTH = 1024;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export interface PredictionInput {
  /** What goes to SageMaker. */
  input: InvokeEndpointInput;
  callerTimeoutMs: number | undefined;
}

function printableHeader(req: Request, name: string, maxLength: number, minLength = 1): string | undefined {
  const value = req.get(name);
  if (value === undefined) return undefined;
  if (value.length < minLength || value.length > maxLength || !PRINTABLE_ASCII.test(value)) {
    throw gatewayError('INVALID_HEADER', `${name} must be ${minLength}-${maxLength} printable ASCII characters.`, {
      extensions: { header: name },
    });
  }
  return value;
}

export function readContentType(req: Request): string {
  const value = req.get('content-type');
  if (value === undefined || value.trim() === '') {
    throw gatewayError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type is required: it tells the model container how to read the body (e.g. text/csv).');
  }
  if (value.length > MAX_HEADER_LENGTH || !PRINTABLE_ASCII.test(value)) {
    throw gatewayError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be at most ${MAX_HEADER_LENGTH} printable ASCII characters.`);
  }
  try {
    parseContentType(value);
  } catch {
    throw gatewayError('UNSUPPORTED_MEDIA_TYPE', `Content-Type "${value}" is not a valid media type.`);
  }
  return value;
}

export function readCallerTimeoutMs(req: Request): number | undefined {
  const value = req.get(DEADLINE_HEADER);
  if (value === undefined) return undefined;
  const ms = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_CALLER_TIMEOUT_MS) {
    throw gatewayError('INVALID_HEADER', `${DEADLINE_HEADER} must be a whole number of milliseconds from 1 to ${MAX_CALLER_TIMEOUT_MS}.`, {
      extensions: { header: DEADLINE_HEADER },
    });
  }
  return ms;
}

/** Everything a prediction sends besides its body. */
type PredictionHeaders = Omit<InvokeEndpointInput, 'body'> & { callerTimeoutMs: number | undefined };

interface HeaderLocals {
  predictionHeaders?: PredictionHeaders;
}

/** Validates the headers alone, before the body is read, so a bad header never costs an upload. */
export function checkPredictionHeaders(req: Request, res: Response): void {
  (res.locals as HeaderLocals).predictionHeaders = readPredictionHeaders(req);
}

function readPredictionHeaders(req: Request): PredictionHeaders {
  const contentType = readContentType(req);
  const accept = printableHeader(req, 'accept', MAX_HEADER_LENGTH);
  const customAttributes = printableHeader(req, 'x-amzn-sagemaker-custom-attributes', MAX_HEADER_LENGTH);
  const inferenceId = printableHeader(req, 'x-amzn-sagemaker-inference-id', 64);
  const targetVariant = printableHeader(req, 'x-amzn-sagemaker-target-variant', MAX_NAME_LENGTH);
  if (targetVariant !== undefined && !isSageMakerName(targetVariant)) {
    throw gatewayError('INVALID_HEADER', 'x-amzn-sagemaker-target-variant must be a production variant name.', {
      extensions: { header: 'x-amzn-sagemaker-target-variant' },
    });
  }
  return { contentType, accept, customAttributes, inferenceId, targetVariant, callerTimeoutMs: readCallerTimeoutMs(req) };
}

/** The request's body (read by http/request-body.ts) with the headers checkPredictionHeaders validated. */
export function readPredictionInput(req: Request, res: Response): PredictionInput {
  const headers = (res.locals as HeaderLocals).predictionHeaders ?? readPredictionHeaders(req);
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw gatewayError('EMPTY_BODY', 'The request body is empty; send the payload the model expects.');
  }
  const { callerTimeoutMs, ...sent } = headers;
  return { input: { body, ...sent }, callerTimeoutMs };
}
