/**
 * SageMaker Runtime's InvokeEndpoint on the wire (restJson1), both directions: reading the
 * request's headers and writing answers and errors exactly as SageMaker encodes them, so the
 * AWS SDKs, boto3 and the AWS CLI raise the same exception classes they raise against AWS.
 * Shared by the local MME and the gateway's SageMaker-compatible route.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

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

export interface InvokeEndpointHeaders {
  contentType: string | undefined;
  accept: string | undefined;
  customAttributes: string | undefined;
  targetModel: string | undefined;
  targetVariant: string | undefined;
  targetContainerHostname: string | undefined;
  inferenceComponent: string | undefined;
  inferenceId: string | undefined;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function readInvokeEndpointHeaders(headers: IncomingHttpHeaders): InvokeEndpointHeaders {
  return {
    contentType: single(headers, 'content-type'),
    accept: single(headers, 'accept'),
    customAttributes: single(headers, 'x-amzn-sagemaker-custom-attributes'),
    targetModel: single(headers, 'x-amzn-sagemaker-target-model'),
    targetVariant: single(headers, 'x-amzn-sagemaker-target-variant'),
    targetContainerHostname: single(headers, 'x-amzn-sagemaker-target-container-hostname'),
    inferenceComponent: single(headers, 'x-amzn-sagemaker-inference-component'),
    inferenceId: single(headers, 'x-amzn-sagemaker-inference-id'),
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
