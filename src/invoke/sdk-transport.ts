/**
 * The production transport: the AWS SDK's SageMaker Runtime client, configured for an MME
 * gateway instead of the SDK's defaults (which retry ModelNotReadyException invisibly,
 * cap sockets at 50 per origin and have no socket timeout).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { InvokeEndpointOutput, InvokeEndpointParams, TransportOptions, UpstreamTransport } from './transport.js';

export function createSdkTransport(options: TransportOptions): UpstreamTransport {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: 256 };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  const client = new SageMakerRuntimeClient({
    region: options.region,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.credentialsProfile ? { profile: options.credentialsProfile } : {}),
    // One attempt per send(): the invoker retries, so every attempt is counted and bounded
    // by the caller's deadline, and breakers see each failure.
    maxAttempts: 1,
    requestHandler: {
      httpAgent,
      httpsAgent,
      connectionTimeout: options.connectTimeoutMs,
      socketTimeout: options.socketTimeoutMs,
    },
  });

  return {
    async invokeEndpoint(params: InvokeEndpointParams, signal: AbortSignal): Promise<InvokeEndpointOutput> {
      const output = await client.send(
        new InvokeEndpointCommand({
          EndpointName: params.endpoint,
          TargetModel: params.targetModel,
          InferenceComponentName: params.inferenceComponent,
          TargetContainerHostname: params.targetContainerHostname,
          Body: params.body,
          ContentType: params.contentType,
          Accept: params.accept,
          CustomAttributes: params.customAttributes,
          InferenceId: params.inferenceId,
          TargetVariant: params.targetVariant,
        }),
        { abortSignal: signal },
      );
      return {
        body: output.Body ?? new Uint8Array(),
        contentType: output.ContentType,
        customAttributes: output.CustomAttributes,
        invokedVariant: output.InvokedProductionVariant,
        upstreamRequestId: output.$metadata.requestId,
      };
    },
    close() {
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
