/**
 * Span names and attribute keys, in one place. Standard keys follow OpenTelemetry's HTTP and
 * RPC semantic conventions (written out: the conventions package is large and mostly unused);
 * the gateway's own live under `mme.`. Bodies, headers and API keys never become attributes.
 */
export const ATTR = {
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  urlScheme: 'url.scheme',
  errorType: 'error.type',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  awsRequestId: 'aws.request_id',
  requestId: 'mme.request_id',
  model: 'mme.model',
  endpoint: 'mme.endpoint',
  targetModel: 'mme.target_model',
  targetVariant: 'mme.target_variant',
  start: 'mme.start',
  attempts: 'mme.attempts',
  attempt: 'mme.attempt',
  outcome: 'mme.outcome',
  coldReason: 'mme.cold_start.reason',
  lastColdReason: 'mme.cold_start.last_reason',
  gateResult: 'mme.cold_start.result',
  modelState: 'mme.model.state',
  backoffAfter: 'mme.backoff.after',
  backoffMs: 'mme.backoff.ms',
  reason: 'mme.reason',
} as const;

/** RPC conventions: the span is named `{rpc.service}/{rpc.method}`. */
export const RPC = { system: 'aws-api', service: 'SageMaker Runtime', method: 'InvokeEndpoint' } as const;
export const INVOKE_SPAN = `${RPC.service}/${RPC.method}`;
export const COLD_START_WAIT_SPAN = 'cold-start wait';

export const EVENT = {
  backoff: 'backoff',
  breakerRejected: 'circuit breaker rejected',
  deadlineExpired: 'deadline expired',
} as const;

/** The exemplar label Grafana's "trace ID" data link reads. */
export const EXEMPLAR_TRACE_ID = 'trace_id';
