/**
 * A lean InvokeEndpoint transport built from the AWS SDK's default credential provider chain
 * and a SigV4 signer for this one request shape (invocation-signer.ts), sending with undici
 * and decoding errors into the SDK's own exception classes. It exists because a full SDK
 * `send()` costs several times the CPU of the request itself (middleware stack, endpoint
 * rules, serde) and the gateway makes one per prediction. Wire equivalence with the SDK
 * client is proven by test/integration/transport-equivalence.test.ts against the local MME.
 */
import {
  InternalDependencyException,
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeServiceException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Agent, request } from 'undici';
import type { SdkTransportOptions } from './sdk-transport.js';
import { createInvocationSigner } from './invocation-signer.js';
import type { InvokeEndpointOutput, InvokeEndpointParams, UpstreamTransport } from './transport.js';

/** SageMaker Runtime's regional endpoint (the SDK's endpoint rules give the same for standard partitions). */
export function regionalRuntimeUrl(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://runtime.sagemaker.${region}.${suffix}`;
}

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

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function decodeError(status: number, headers: Record<string, string | string[] | undefined>, text: string): Error {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone classifies it.
  }
  const rawType = header(headers, 'x-amzn-errortype') ?? (body['code'] as string | undefined) ?? (body['__type'] as string | undefined);
  const type = rawType ? sanitizeErrorType(rawType) : undefined;
  const message = (body['message'] ?? body['Message'] ?? `HTTP ${status}`) as string;
  const fields: ErrorFields = { message: String(message), $metadata: { httpStatusCode: status, requestId: header(headers, 'x-amzn-requestid') } };
  const make = type ? errorClasses[type] : undefined;
  if (make) return make(fields, body);
  return new SageMakerRuntimeServiceException({
    name: type ?? 'UnknownError',
    $fault: status >= 500 ? 'server' : 'client',
    ...fields,
  });
}

export function createLeanTransport(options: SdkTransportOptions): UpstreamTransport {
  const base = new URL(options.endpointUrl ?? regionalRuntimeUrl(options.region));
  const signer = createInvocationSigner({ region: options.region, baseUrl: base, credentials: options.credentials ?? defaultProvider() });
  const dispatcher = new Agent({
    connections: options.maxSockets,
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.socketTimeoutMs,
    bodyTimeout: options.socketTimeoutMs,
  });

  return {
    async invokeEndpoint(params: InvokeEndpointParams, signal: AbortSignal): Promise<InvokeEndpointOutput> {
      const signed = await signer.sign(params);
      const response = await request(signed.url, {
        method: 'POST',
        headers: signed.headers,
        body: params.body,
        signal,
        dispatcher,
      });
      const bytes = new Uint8Array(await response.body.arrayBuffer());
      const responseHeaders = response.headers;
      if (response.statusCode >= 300) {
        throw decodeError(response.statusCode, responseHeaders, new TextDecoder().decode(bytes));
      }
      return {
        body: bytes,
        contentType: header(responseHeaders, 'content-type'),
        customAttributes: header(responseHeaders, 'x-amzn-sagemaker-custom-attributes'),
        invokedVariant: header(responseHeaders, 'x-amzn-invoked-production-variant'),
        upstreamRequestId: header(responseHeaders, 'x-amzn-requestid'),
      };
    },
    close() {
      void dispatcher.close();
    },
  };
}
