/**
 * SageMaker Runtime's InvokeEndpoint on the wire (restJson1), both sides. As a server (the
 * local MME, the gateway's SageMaker-compatible route): reading the request's headers and
 * writing answers and errors exactly as SageMaker encodes them, so the AWS SDKs, boto3 and the
 * AWS CLI raise the same exception classes they raise against AWS. As a client (the lean
 * transport): reading an answer, and decoding an error into the SDK's exception class, as the
 * SDK's own deserializer does.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import {
  InternalDependencyException,
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import type { InvokeEndpointInput, InvokeEndpointOutput } from './invoke/transport.js';

export type SageMakerErrorType =
  | 'ValidationError'
  | 'ModelError'
  | 'ModelNotReadyException'
  | 'InternalFailure'
  | 'ServiceUnavailable'
  | 'InternalDependencyException'
  /** Not sent by SageMaker Runtime itself but by AWS's front door; the gateway uses it for API keys. */
  | 'AccessDeniedException';

export const sageMakerErrorStatus: Record<SageMakerErrorType, number> = {
  ValidationError: 400,
  ModelError: 424,
  ModelNotReadyException: 429,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  InternalDependencyException: 530,
  AccessDeniedException: 403,
};

/** The namespace suffix SageMaker puts after the type in x-amzn-ErrorType. */
const ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazon.sagemaker/';

/** SageMaker's rule for EndpointName (isSageMakerName adds the length limit). */
export const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
/**
 * InferenceComponentName (header X-Amzn-SageMaker-Inference-Component): botocore's
 * InferenceComponentHeader shape, at most 63 characters. TargetVariant and
 * TargetContainerHostname share ENDPOINT_NAME's pattern and limit.
 */
export const INFERENCE_COMPONENT_NAME = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
export const MAX_NAME_LENGTH = 63;
/**
 * SageMaker's answer to an invocation while the inference component has no copies (scaled to
 * zero, or still provisioning): a ValidationError (HTTP 400) with this message, as quoted in
 * AWS's "scale down to zero" announcement (re:Invent 2024). The gateway matches its first
 * sentence (IC_NO_CAPACITY_PATTERN), the local MME answers it verbatim.
 */
export const NO_CAPACITY_MESSAGE =
  'Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API.';

export function isSageMakerName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && ENDPOINT_NAME.test(name);
}

/** SageMaker's own payload limit for InvokeEndpoint. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;
/** `POST /endpoints/{EndpointName}/invocations` (the name is URL-encoded by the SDKs). */
export const INVOCATIONS_PATH = /^\/endpoints\/([^/]+)\/invocations$/;

/** The request's headers as sent: the caller's input (less the body) and where it goes. */
export interface InvokeEndpointHeaders extends Omit<InvokeEndpointInput, 'body'> {
  targetModel: string | undefined;
  targetContainerHostname: string | undefined;
  inferenceComponent: string | undefined;
}

/** A header's value (the first, if repeated), from node:http's or undici's lower-cased headers. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function readInvokeEndpointHeaders(headers: IncomingHttpHeaders): InvokeEndpointHeaders {
  return {
    contentType: headerValue(headers, 'content-type'),
    accept: headerValue(headers, 'accept'),
    customAttributes: headerValue(headers, 'x-amzn-sagemaker-custom-attributes'),
    targetModel: headerValue(headers, 'x-amzn-sagemaker-target-model'),
    targetVariant: headerValue(headers, 'x-amzn-sagemaker-target-variant'),
    targetContainerHostname: headerValue(headers, 'x-amzn-sagemaker-target-container-hostname'),
    inferenceComponent: headerValue(headers, 'x-amzn-sagemaker-inference-component'),
    inferenceId: headerValue(headers, 'x-amzn-sagemaker-inference-id'),
  };
}

export interface ModelErrorDetails {
  originalStatusCode: number;
  originalMessage: string;
  logStreamArn?: string;
}

/** Writes an error the way SageMaker does: type header, JSON body, status. */
export function writeSageMakerError(
  res: ServerResponse,
  type: SageMakerErrorType,
  message: string,
  options: { requestId?: string; modelError?: ModelErrorDetails; retryAfterSeconds?: number } = {},
): void {
  const body: Record<string, unknown> = { message };
  if (type === 'ModelError' && options.modelError) {
    body['Message'] = message;
    body['OriginalStatusCode'] = options.modelError.originalStatusCode;
    body['OriginalMessage'] = options.modelError.originalMessage;
    if (options.modelError.logStreamArn) body['LogStreamArn'] = options.modelError.logStreamArn;
  }
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': options.requestId ?? randomUUID(),
    'x-amzn-ErrorType': `${type}:${ERROR_NAMESPACE}`,
  };
  if (options.retryAfterSeconds !== undefined) headers['Retry-After'] = options.retryAfterSeconds;
  res.writeHead(sageMakerErrorStatus[type], headers);
  res.end(payload);
}

export interface InvokeEndpointAnswer {
  body: Buffer | Uint8Array | string;
  contentType: string;
  invokedVariant: string;
  customAttributes?: string;
  requestId?: string;
}

export function writeInvokeEndpointAnswer(res: ServerResponse, answer: InvokeEndpointAnswer): void {
  const body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
  const headers: Record<string, string | number> = {
    'Content-Type': answer.contentType,
    'Content-Length': body.byteLength,
    'x-Amzn-Invoked-Production-Variant': answer.invokedVariant,
    'x-amzn-RequestId': answer.requestId ?? randomUUID(),
  };
  if (answer.customAttributes !== undefined) headers['X-Amzn-SageMaker-Custom-Attributes'] = answer.customAttributes;
  res.writeHead(200, headers);
  res.end(body);
}

// Client side: what the lean transport reads back.

type ErrorFields = { message: string; $metadata: { httpStatusCode: number; requestId: string | undefined } };

/** Exception classes by SageMaker error type: the same the SDK's deserializer picks. */
const errorClasses: Record<string, (fields: ErrorFields, body: Record<string, unknown>) => Error> = {
  ModelError: (fields, body) =>
    new ModelError({
      ...fields,
      OriginalStatusCode: typeof body['OriginalStatusCode'] === 'number' ? body['OriginalStatusCode'] : undefined,
      OriginalMessage: typeof body['OriginalMessage'] === 'string' ? body['OriginalMessage'] : undefined,
      LogStreamArn: typeof body['LogStreamArn'] === 'string' ? body['LogStreamArn'] : undefined,
    }),
  ModelNotReadyException: (fields) => new ModelNotReadyException(fields),
  ValidationError: (fields) => new ValidationError(fields),
  InternalFailure: (fields) => new InternalFailure(fields),
  ServiceUnavailable: (fields) => new ServiceUnavailable(fields),
  InternalDependencyException: (fields) => new InternalDependencyException(fields),
};

/** restJson1's rule: the type is the part before ':' (header) or after '#' (body). */
export function sanitizeErrorType(raw: string): string {
  let type = raw;
  if (type.includes(':')) type = type.split(':')[0]!;
  if (type.includes(',')) type = type.split(',')[0]!;
  if (type.includes('#')) type = type.split('#').pop()!;
  return type.trim();
}

/** An error answer as the SDK's exception: the class by the type header (then body `code`, then `__type`). */
export function decodeError(status: number, headers: IncomingHttpHeaders, text: string): Error {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone classifies it.
  }
  const rawType = headerValue(headers, 'x-amzn-errortype') ?? (body['code'] as string | undefined) ?? (body['__type'] as string | undefined);
  const type = rawType ? sanitizeErrorType(rawType) : undefined;
  const message = (body['message'] ?? body['Message'] ?? `HTTP ${status}`) as string;
  const fields: ErrorFields = { message: String(message), $metadata: { httpStatusCode: status, requestId: headerValue(headers, 'x-amzn-requestid') } };
  const make = type ? errorClasses[type] : undefined;
  if (make) return make(fields, body);
  return new SageMakerRuntimeServiceException({
    name: type ?? 'UnknownError',
    $fault: status >= 500 ? 'server' : 'client',
    ...fields,
  });
}

/** An InvokeEndpoint answer: the output on success, else the decoded error thrown. */
export function readInvokeEndpointAnswer(status: number, headers: IncomingHttpHeaders, body: Uint8Array): InvokeEndpointOutput {
  if (status >= 300) throw decodeError(status, headers, new TextDecoder().decode(body));
  return {
    body,
    contentType: headerValue(headers, 'content-type'),
    customAttributes: headerValue(headers, 'x-amzn-sagemaker-custom-attributes'),
    invokedVariant: headerValue(headers, 'x-amzn-invoked-production-variant'),
    upstreamRequestId: headerValue(headers, 'x-amzn-requestid'),
  };
}
