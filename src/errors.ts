/**
 * Every error the gateway can answer with, in one catalog: a stable `code` (part of the API
 * contract: callers and dashboards match on it), the HTTP status and a short title. Errors are
 * values (GatewayError) created by one factory and turned into problem+json in exactly one
 * place (http/problem.ts), so a status can never drift between two call sites.
 */

export const errorCatalog = {
  INVALID_MODEL_NAME: { status: 400, title: 'Invalid model name' },
  INVALID_ENDPOINT_NAME: { status: 400, title: 'Invalid endpoint name' },
  INVALID_TARGET_MODEL: { status: 400, title: 'Invalid target model' },
  INVALID_HEADER: { status: 400, title: 'Invalid request header' },
  INVALID_REQUEST: { status: 400, title: 'Invalid request' },
  EMPTY_BODY: { status: 400, title: 'Request body is empty' },
  UNAUTHORIZED: { status: 401, title: 'Missing or invalid API key' },
  FORBIDDEN: { status: 403, title: 'Not allowed for this API key' },
  NOT_FOUND: { status: 404, title: 'No such route' },
  MODEL_NOT_FOUND: { status: 404, title: 'Unknown model' },
  ENDPOINT_NOT_ALLOWED: { status: 404, title: 'Endpoint or target model not allowed' },
  /** The client did not send its whole request within REQUEST_RECEIVE_TIMEOUT_MS. */
  REQUEST_TIMEOUT: { status: 408, title: 'Request not received in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Content-Type missing or invalid' },
  /** SageMaker's ValidationError: the request reached SageMaker and it refused it. */
  UPSTREAM_VALIDATION_ERROR: { status: 400, title: 'SageMaker rejected the request' },
  /**
   * The model container answered an error (SageMaker ModelError). The HTTP status is the
   * container's own when it is a 4xx (the caller's input was rejected), 502 otherwise.
   */
  MODEL_ERROR: { status: 502, title: 'The model container returned an error' },
  MODEL_NOT_READY: { status: 503, title: 'Model is still loading' },
  QUEUE_FULL: { status: 503, title: 'Too many requests waiting for this model to load' },
  CIRCUIT_OPEN: { status: 503, title: 'Circuit breaker open' },
  UPSTREAM_THROTTLED: { status: 503, title: 'SageMaker throttled the request' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'SageMaker endpoint unavailable' },
  UPSTREAM_ERROR: { status: 502, title: 'SageMaker returned an error' },
  UPSTREAM_UNREACHABLE: { status: 502, title: 'SageMaker endpoint unreachable' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'SageMaker did not answer in time' },
  DEADLINE_EXCEEDED: { status: 504, title: "The caller's deadline passed" },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  /**
   * The caller closed its connection before the answer (nginx's 499). Never received by
   * anyone: it is what the access log and the metrics record for a departed caller.
   */
  CLIENT_CLOSED_REQUEST: { status: 499, title: 'The caller closed the connection first' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface GatewayErrorOptions {
  /** Overrides the catalog status (used for ModelError's original 4xx status). */
  status?: number;
  /** Seconds a caller should wait before retrying; sent as Retry-After. */
  retryAfterSeconds?: number;
  /** Extra problem+json members (RFC 9457 extensions), e.g. the container's original status. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly retryAfterSeconds: number | undefined;
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, options: GatewayErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? errorCatalog[code].status;
    this.title = errorCatalog[code].title;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.extensions = options.extensions ?? {};
  }
}

/** The one factory every module uses to raise a gateway error. */
export function gatewayError(code: ErrorCode, detail: string, options?: GatewayErrorOptions): GatewayError {
  return new GatewayError(code, detail, options);
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
