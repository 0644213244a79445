/**
 * Every gateway setting, read from the environment once and validated by one zod schema.
 * A bad value stops start-up with a message naming the variable, so a typo in an ECS task
 * definition fails the deployment instead of surfacing as odd behaviour under load.
 */
import { z } from 'zod';
import { ConfigError, describeIssues } from './config-error.js';
import { MAX_BODY_BYTES, isSageMakerName } from './sagemaker-wire.js';
import type { CatalogSettings } from './catalog.js';
import type { BreakerSettings } from './invoke/breakers.js';
import type { ColdStartGateOptions } from './invoke/cold-start-gate.js';
import type { InvokerSettings } from './invoke/invoker.js';
import type { TransportOptions } from './invoke/transport.js';
import type { HttpServerSettings } from './server.js';
import type { ShutdownOptions } from './shutdown.js';

export { ConfigError };
import { DEFAULT_NO_CAPACITY_PATTERN } from './invoke/scale-from-zero.js';


const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const commaList = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .optional()
    .transform((value) => (value ? value.split(',').map((item) => item.trim()).filter(Boolean) : [])),
);

export const configSchema = z
  .object({
    PORT: int(0, 65535, 8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),

    SAGEMAKER_ENDPOINT_NAME: z.preprocess(
      emptyAsUndefined,
      z.string().refine(isSageMakerName, 'must be a SageMaker endpoint name').optional(),
    ),
    AWS_REGION: optionalString,
    AWS_DEFAULT_REGION: optionalString,
    SAGEMAKER_RUNTIME_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
    LOCAL_MME: z.enum(['auto', 'on', 'off']).default('auto'),
    MODEL_CATALOG: optionalString,

    MAX_BODY_BYTES: int(1, MAX_BODY_BYTES, MAX_BODY_BYTES),
    UPSTREAM_CONNECT_TIMEOUT_MS: int(1, 60_000, 3_000),
    // Above SageMaker's own 60 s wait for a loading model, so a slow load answers with
    // ModelNotReadyException instead of the socket giving up first.
    UPSTREAM_SOCKET_TIMEOUT_MS: int(1, 600_000, 70_000),
    // The SDK's default of 50 sockets per origin silently queues everything beyond it.
    UPSTREAM_MAX_SOCKETS: int(1, 65_535, 1_024),
    // lean: SigV4 + undici with the SDK's credential chain and exception classes (a fraction
    // of the CPU); sdk: the full SageMakerRuntimeClient. Both are tested against the local MME.
    UPSTREAM_TRANSPORT: z.enum(['lean', 'sdk']).default('lean'),

    COLD_START_BUDGET_S: int(1, 3_600, 360),
    // A scale-out from zero copies took AWS about 5 minutes (8B model) to 6 (70B): twice that.
    IC_COLD_START_BUDGET_S: int(1, 3_600, 600),
    // SageMaker's no-capacity message (a ValidationError) for an inference component at zero
    // copies; a regular expression, in case AWS rewords it.
    IC_NO_CAPACITY_PATTERN: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .max(1024)
        .default(DEFAULT_NO_CAPACITY_PATTERN)
        .refine(isRegExp, 'must be a valid regular expression'),
    ),
    NOT_READY_RETRY_BASE_MS: int(1, 60_000, 250),
    NOT_READY_RETRY_MAX_MS: int(1, 120_000, 5_000),
    TRANSIENT_RETRIES: int(0, 10, 2),
    TRANSIENT_RETRY_BASE_MS: int(1, 60_000, 50),
    RETRY_BUDGET_PERCENT: int(0, 100, 10),
    COLD_QUEUE_MAX: int(0, 100_000, 256),
    // SageMaker answers ModelNotReadyException after about 60 s and boto3 reads for 60 s: the
    // SageMaker-compatible route answers it a little earlier, so such clients see it, not a timeout.
    WIRE_READY_WAIT_MS: int(1, 3_600_000, 58_000),
    // Cold from evidence (invoke/cold-evidence.ts). A reload shows as an upstream time well above
    // the model's warm baseline; the floor keeps an ordinary slow inference from counting.
    COLD_BASELINE_FACTOR: z.coerce.number().min(1).max(1000).default(5),
    COLD_BASELINE_FLOOR_MS: int(0, 3_600_000, 1_000),
    // With no baseline yet (first call by this process), slower than this counts as a load.
    COLD_FIRST_CALL_MS: int(0, 3_600_000, 1_000),
    // Keep-warm calls across every endpoint: enough for hundreds of models on minute intervals,
    // too few to matter next to traffic.
    KEEP_WARM_MAX_PER_SECOND: int(1, 1_000, 5),

    BREAKER_ERROR_THRESHOLD_PERCENT: int(1, 100, 50),
    BREAKER_VOLUME_THRESHOLD: int(1, 100_000, 10),
    BREAKER_ROLLING_WINDOW_MS: int(100, 600_000, 10_000),
    BREAKER_RESET_TIMEOUT_MS: int(10, 3_600_000, 30_000),
    BREAKER_MAX_MODELS: int(1, 1_000_000, 1_000),
    // Envoy's outlier detection ejects a host after 5 consecutive 5xx.
    BREAKER_CONSECUTIVE_FAILURES: int(1, 1_000, 5),
    MODEL_STATE_MAX: int(1, 10_000_000, 10_000),
    MODEL_PRELOAD: commaList,

    METRICS_MAX_MODEL_LABELS: int(1, 100_000, 200),

    API_KEYS: optionalString,
    API_KEYS_FILE: optionalString,
    METRICS_REQUIRE_API_KEY: z.enum(['true', 'false']).default('false'),

    // Above the ALB's 60 s idle timeout, so the gateway never closes a connection the ALB
    // is about to reuse (which the ALB reports as a 502).
    KEEP_ALIVE_TIMEOUT_MS: int(1_000, 3_600_000, 65_000),
    HEADERS_TIMEOUT_MS: int(1_000, 3_600_000, 66_000),
    REQUEST_RECEIVE_TIMEOUT_MS: int(1_000, 3_600_000, 30_000),
    // Node's own default; named so operators can see and lower it.
    MAX_HEADER_BYTES: int(1_024, 1_048_576, 16_384),
    // Bounds how long one client can monopolise a connection; the ALB simply opens another.
    MAX_REQUESTS_PER_SOCKET: int(0, 10_000_000, 10_000),
    SHUTDOWN_GRACE_MS: int(0, 600_000, 5_000),
    DRAIN_TIMEOUT_MS: int(0, 3_600_000, 30_000),

    // OpenTelemetry's standard variables. The SDK reads them (and the rest: OTEL_EXPORTER_OTLP_HEADERS,
    // OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES, …) itself; they are checked here so a typo fails start-up.
    OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
    OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
    OTEL_EXPORTER_OTLP_PROTOCOL: z.preprocess(emptyAsUndefined, z.enum(['http/json'], 'only http/json (OTLP over HTTP) is supported').optional()),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.preprocess(emptyAsUndefined, z.enum(['http/json'], 'only http/json (OTLP over HTTP) is supported').optional()),
    OTEL_SERVICE_NAME: z.preprocess(emptyAsUndefined, z.string().default('mme-gateway')),
    OTEL_TRACES_SAMPLER: z
      .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
      .default('parentbased_always_on'),
    OTEL_TRACES_SAMPLER_ARG: z.preprocess(emptyAsUndefined, z.coerce.number().min(0).max(1).optional()),
  })
  .superRefine((env, ctx) => {
    if (env.HEADERS_TIMEOUT_MS <= env.KEEP_ALIVE_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HEADERS_TIMEOUT_MS'],
        message: 'must be greater than KEEP_ALIVE_TIMEOUT_MS',
      });
    }
    if (env.NOT_READY_RETRY_MAX_MS < env.NOT_READY_RETRY_BASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['NOT_READY_RETRY_MAX_MS'], message: 'must be ≥ NOT_READY_RETRY_BASE_MS' });
    }
  });

type Env = z.infer<typeof configSchema>;

/**
 * The gateway's settings, each section typed as the settings of the component it configures
 * (so one setting has one name from the environment to the code that uses it).
 */
export interface GatewayConfig {
  port: number;
  host: string;
  logLevel: Env['LOG_LEVEL'];
  /** Whether the embedded local MME runs in this process and the gateway points at it. */
  localMme: boolean;
  region: string;
  runtimeUrl: string | undefined;
  catalogPath: string | undefined;
  maxBodyBytes: number;
  upstream: Pick<TransportOptions, 'connectTimeoutMs' | 'socketTimeoutMs' | 'maxSockets'> & { transport: 'lean' | 'sdk' };
  catalog: CatalogSettings;
  invoker: InvokerSettings;
  gate: Pick<ColdStartGateOptions, 'maxWaitersPerModel'>;
  /** SageMaker-compatible route: wait for a loading model before ModelNotReadyException. */
  wireReadyWaitMs: number;
  breakers: BreakerSettings;
  /** Matches SageMaker's no-capacity ValidationError (a scale-from-zero cold start). */
  noCapacityPattern: RegExp;
  modelStateMax: number;
  keepWarm: { maxPerSecond: number };
  preload: string[];
  metrics: { maxModelLabels: number };
  /** API keys (inline text or a file); both undefined = access control off. */
  apiKeys: { inline: string | undefined; file: string | undefined; metricsRequireKey: boolean };
  server: HttpServerSettings;
  shutdown: Pick<ShutdownOptions, 'graceMs' | 'drainTimeoutMs'>;
  /**
   * OpenTelemetry tracing: on when an OTLP endpoint is configured (and not disabled), off
   * otherwise. Off loads no OpenTelemetry module at all.
   */
  tracing: { enabled: boolean; serviceName: string };
}

/** Endpoint name the embedded local MME answers to when none is configured. */
export const LOCAL_DEFAULT_ENDPOINT = 'local-mme';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${describeIssues(parsed.error, 'environment')}`);
  }
  const e = parsed.data;
  const localMme =
    e.LOCAL_MME === 'on' || (e.LOCAL_MME === 'auto' && !e.SAGEMAKER_ENDPOINT_NAME && !e.SAGEMAKER_RUNTIME_URL);
  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? (localMme ? 'us-east-1' : undefined);
  if (!region) throw new ConfigError('invalid configuration: AWS_REGION: required when LOCAL_MME is off');
  if (localMme && e.SAGEMAKER_RUNTIME_URL) {
    throw new ConfigError('invalid configuration: SAGEMAKER_RUNTIME_URL: cannot be set when LOCAL_MME=on');
  }
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    localMme,
    region,
    runtimeUrl: e.SAGEMAKER_RUNTIME_URL,
    catalogPath: e.MODEL_CATALOG,
    maxBodyBytes: e.MAX_BODY_BYTES,
    upstream: {
      transport: e.UPSTREAM_TRANSPORT,
      connectTimeoutMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
      socketTimeoutMs: e.UPSTREAM_SOCKET_TIMEOUT_MS,
      maxSockets: e.UPSTREAM_MAX_SOCKETS,
    },
    noCapacityPattern: new RegExp(e.IC_NO_CAPACITY_PATTERN),
    catalog: {
      defaultEndpoint: e.SAGEMAKER_ENDPOINT_NAME ?? (localMme ? LOCAL_DEFAULT_ENDPOINT : undefined),
      defaultColdStartBudgetMs: e.COLD_START_BUDGET_S * 1000,
      defaultComponentBudgetMs: e.IC_COLD_START_BUDGET_S * 1000,
      defaultColdEvidence: {
        baselineFactor: e.COLD_BASELINE_FACTOR,
        baselineFloorMs: e.COLD_BASELINE_FLOOR_MS,
        firstCallMs: e.COLD_FIRST_CALL_MS,
      },
    },
    invoker: {
      socketTimeoutMs: e.UPSTREAM_SOCKET_TIMEOUT_MS,
      notReadyRetryBaseMs: e.NOT_READY_RETRY_BASE_MS,
      notReadyRetryMaxMs: e.NOT_READY_RETRY_MAX_MS,
      transientRetries: e.TRANSIENT_RETRIES,
      transientRetryBaseMs: e.TRANSIENT_RETRY_BASE_MS,
      retryBudgetPercent: e.RETRY_BUDGET_PERCENT,
    },
    gate: { maxWaitersPerModel: e.COLD_QUEUE_MAX },
    wireReadyWaitMs: e.WIRE_READY_WAIT_MS,
    breakers: {
      errorThresholdPercent: e.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: e.BREAKER_VOLUME_THRESHOLD,
      rollingWindowMs: e.BREAKER_ROLLING_WINDOW_MS,
      resetTimeoutMs: e.BREAKER_RESET_TIMEOUT_MS,
      maxModelBreakers: e.BREAKER_MAX_MODELS,
      consecutiveFailures: e.BREAKER_CONSECUTIVE_FAILURES,
    },
    modelStateMax: e.MODEL_STATE_MAX,
    keepWarm: { maxPerSecond: e.KEEP_WARM_MAX_PER_SECOND },
    preload: e.MODEL_PRELOAD,
    metrics: { maxModelLabels: e.METRICS_MAX_MODEL_LABELS },
    apiKeys: { inline: e.API_KEYS, file: e.API_KEYS_FILE, metricsRequireKey: e.METRICS_REQUIRE_API_KEY === 'true' },
    server: {
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestReceiveTimeoutMs: e.REQUEST_RECEIVE_TIMEOUT_MS,
      maxHeaderBytes: e.MAX_HEADER_BYTES,
      maxRequestsPerSocket: e.MAX_REQUESTS_PER_SOCKET,
    },
    shutdown: { graceMs: e.SHUTDOWN_GRACE_MS, drainTimeoutMs: e.DRAIN_TIMEOUT_MS },
    tracing: {
      enabled:
        e.OTEL_SDK_DISABLED === 'false' &&
        e.OTEL_TRACES_EXPORTER === 'otlp' &&
        (e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined),
      serviceName: e.OTEL_SERVICE_NAME,
    },
  };
}
