/**
 * How the bench runs the real gateway: every feature on (info logs, metrics, breakers,
 * validation), pointed at the bench upstream, with API keys off or on. Shared by the warm-path
 * bench and the CPU profile so both measure the same configuration.
 */
import { createHash } from 'node:crypto';

/** The key the load drivers present when API keys are on. */
export const BENCH_API_KEY = 'bench-key-0123456789abcdef';

export function gatewayEnv(upstreamUrl: string, options: { apiKeys: boolean }): Record<string, string> {
  const keys = {
    keys: [
      { id: 'bench', sha256: createHash('sha256').update(BENCH_API_KEY).digest('hex'), models: ['churn'], endpoints: ['bench'] },
      // A second configured key: authentication compares every hash, as in production.
      { id: 'other', sha256: createHash('sha256').update('another-key').digest('hex'), models: ['*'] },
    ],
  };
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    LOCAL_MME: 'off',
    SAGEMAKER_ENDPOINT_NAME: 'bench',
    SAGEMAKER_RUNTIME_URL: upstreamUrl,
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '0',
    ...(options.apiKeys ? { API_KEYS: JSON.stringify(keys) } : {}),
  };
}

/** Headers the load drivers send to a target. */
export function driverHeaders(options: { apiKeys: boolean }): Record<string, string> {
  return options.apiKeys ? { 'x-api-key': BENCH_API_KEY } : {};
}
