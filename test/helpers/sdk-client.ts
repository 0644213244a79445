/**
 * A real AWS SDK SageMaker Runtime client pointed at a local URL (the local MME or the
 * gateway's SageMaker-compatible route). Its own retries are off so each test sees exactly
 * one attempt and the exception the server's answer maps to.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient, type InvokeEndpointCommandInput } from '@aws-sdk/client-sagemaker-runtime';

export function localRuntimeClient(url: string): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
  });
}

export interface InvokeOutcome {
  ok: boolean;
  body?: string;
  contentType?: string | undefined;
  variant?: string | undefined;
  customAttributes?: string | undefined;
  errorName?: string;
  status?: number | undefined;
  error?: Error & Record<string, unknown>;
}

/** InvokeEndpoint, returning the answer or the SDK's exception as data. */
export async function invokeEndpoint(client: SageMakerRuntimeClient, input: Omit<InvokeEndpointCommandInput, 'Body'> & { Body: string | Uint8Array }): Promise<InvokeOutcome> {
  try {
    const output = await client.send(new InvokeEndpointCommand(input));
    return {
      ok: true,
      body: Buffer.from(output.Body ?? new Uint8Array()).toString('utf8'),
      contentType: output.ContentType,
      variant: output.InvokedProductionVariant,
      customAttributes: output.CustomAttributes,
    };
  } catch (caught) {
    const error = caught as Error & { $metadata?: { httpStatusCode?: number } } & Record<string, unknown>;
    return { ok: false, errorName: error.name, status: error.$metadata?.httpStatusCode, error };
  }
}
