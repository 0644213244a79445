/**
 * A lean InvokeEndpoint transport built from the AWS SDK's default credential provider chain
 * and a SigV4 signer for this one request shape (invocation-signer.ts), sending through undici's
 * dispatch API (gathered-exchange.ts) and decoding answers and errors (into the SDK's own
 * exception classes) with sagemaker-wire.ts. It exists because a full SDK `send()` costs
 * several times the CPU of the request itself (middleware stack, endpoint rules, serde) and the
 * gateway makes one per prediction. Wire equivalence with the SDK client is proven by
 * test/integration/transport-equivalence.test.ts against the local MME.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Agent } from 'undici';
import { readInvokeEndpointAnswer } from '../sagemaker-wire.js';
import { gatheredExchange } from './gathered-exchange.js';
import { createInvocationSigner } from './invocation-signer.js';
import type { InvokeEndpointOutput, InvokeEndpointParams, TransportOptions, UpstreamTransport } from './transport.js';

/** SageMaker Runtime's regional endpoint (the SDK's endpoint rules give the same for standard partitions). */
export function regionalRuntimeUrl(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://runtime.sagemaker.${region}.${suffix}`;
}

export function createLeanTransport(options: TransportOptions): UpstreamTransport {
  const base = new URL(options.endpointUrl ?? regionalRuntimeUrl(options.region));
  const signer = createInvocationSigner({ region: options.region, baseUrl: base, credentials: options.credentials ?? defaultProvider(options.credentialsProfile ? { profile: options.credentialsProfile } : {}) });
  const dispatcher = new Agent({
    connections: options.maxSockets,
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.socketTimeoutMs,
    bodyTimeout: options.socketTimeoutMs,
  });

  return {
    async invokeEndpoint(params: InvokeEndpointParams, signal: AbortSignal): Promise<InvokeEndpointOutput> {
      const signed = await signer.sign(params);
      const answer = await gatheredExchange(dispatcher, { origin: signed.origin, path: signed.path, method: 'POST', headers: signed.headers, body: params.body }, signal);
      return readInvokeEndpointAnswer(answer.statusCode, answer.headers, answer.body);
    },
    close() {
      void dispatcher.close();
    },
  };
}
