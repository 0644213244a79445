/**
 * Builds the real Express app in-process around a scripted transport, for route-level tests
 * with supertest (acceptance tests use real processes instead; see gateway-process.ts).
 */
import type { Express } from 'express';
import { loadConfig } from '../../src/config.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import type { InvokeEndpointParams, UpstreamTransport } from '../../src/invoke/transport.js';

export function echoTransport(onCall?: (params: InvokeEndpointParams) => void): UpstreamTransport {
  return {
    async invokeEndpoint(params) {
      onCall?.(params);
      return { body: new TextEncoder().encode('0.5\n'), contentType: 'text/csv', customAttributes: undefined, invokedVariant: 'AllTraffic', upstreamRequestId: 'r' };
    },
    close() {},
  };
}

export async function inProcessApp(env: Record<string, string>, transport: UpstreamTransport = echoTransport()): Promise<{ app: Express; close(): Promise<void> }> {
  const fullEnv = { LOCAL_MME: 'off', SAGEMAKER_ENDPOINT_NAME: 'test-mme', AWS_REGION: 'us-east-1', ...env };
  const config = loadConfig(fullEnv);
  const gateway = await createGateway(config, createLogger('error', { silent: true }), {
    env: fullEnv,
    lifecycle: { isDraining: () => false },
    transport,
  });
  return { app: gateway.app, close: () => gateway.close() };
}
