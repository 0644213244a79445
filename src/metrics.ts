/**
 * Every Prometheus metric the gateway exports, defined in one place on one registry. Metric
 * names and labels are part of the operator contract (dashboards and alerts in deploy/ use
 * them), so change them only together with those files.
 */
import { Counter, Gauge, Histogram, type LabelValues, Registry, collectDefaultMetrics } from 'prom-client';

const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Model label for every model beyond the METRICS_MAX_MODEL_LABELS cap. */
export const OTHER_MODELS_LABEL = '__other__';

/**
 * Outcomes of one gateway invocation (the `outcome` label). Documented in README.md.
 */
export const invocationOutcomes = [
  'success',
  'client_error',
  'model_error',
  'not_ready',
  'queue_full',
  'circuit_open',
  'timeout',
  'throttled',
  'upstream_error',
  /** The caller closed its connection first; not a gateway failure (alerts leave it out). */
  'abandoned',
] as const;
export type InvocationOutcome = (typeof invocationOutcomes)[number];

/** Latency buckets from warm calls (milliseconds) to the 360 s cold-start budget. */
const latencyBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 240, 360,
];
const payloadBuckets = [64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 6_291_456];

export type BreakerScope = 'endpoint' | 'model';
export type BreakerStateName = 'closed' | 'half_open' | 'open';
const breakerStateValue: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Exemplar labels for the observation being made now (the sampled trace's id), or undefined.
 * Tracing supplies it; without it the latency histograms carry no exemplars at all.
 */
export type ExemplarSource = () => Record<string, string> | undefined;

const NO_EXEMPLAR = {};

/**
 * A latency histogram. With an exemplar source, prom-client keeps the last exemplar per bucket
 * (shown in the OpenMetrics exposition only); callers keep the plain observe(labels, value).
 */
function latencyHistogram<T extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly T[] },
  exemplars: ExemplarSource | undefined,
): Histogram<T> {
  // Registered by hand: prom-client refuses exemplars on a text-format registry at construction,
  // although the text rendering simply leaves them out (the OpenMetrics route shows them).
  const histogram = new Histogram<T>({ ...config, buckets: latencyBuckets, registers: [], enableExemplars: exemplars !== undefined });
  registry.registerMetric(histogram);
  if (exemplars) {
    const observeWithExemplar = histogram.observe.bind(histogram) as (data: { labels: LabelValues<T>; value: number; exemplarLabels: LabelValues<T> }) => void;
    histogram.observe = ((labels: LabelValues<T>, value: number) =>
      observeWithExemplar({ labels, value, exemplarLabels: (exemplars() ?? NO_EXEMPLAR) as LabelValues<T> })) as Histogram<T>['observe'];
  }
  return histogram;
}

export interface GatewayMetricsOptions {
  collectProcessMetrics?: boolean;
  exemplars?: ExemplarSource;
}

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly invocationDuration: Histogram<'model' | 'endpoint' | 'start' | 'outcome'>;

  readonly coldStarts = new Counter({
    name: 'mme_gateway_cold_starts_total',
    help:
      'Prediction requests labelled start="cold", by the evidence: not_ready (met ModelNotReadyException), ' +
      'waited (waited for another call\'s load), inferred_reload (upstream time far above the warm baseline: ' +
      'an unannounced reload), slow_first_call (no baseline yet, upstream time above COLD_FIRST_CALL_MS), ' +
      'scale_from_zero (an inference component had no copies).',
    labelNames: ['model', 'endpoint', 'reason'] as const,
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: 'mme_gateway_upstream_requests_total',
    help: 'InvokeEndpoint attempts sent upstream, retries included, by result (abandoned: aborted because its caller left; timeout: no answer in time).',
    labelNames: ['model', 'endpoint', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration: Histogram<'endpoint' | 'outcome'>;

  readonly modelNotReady = new Counter({
    name: 'mme_gateway_model_not_ready_total',
    help: 'ModelNotReadyException answers received from SageMaker.',
    labelNames: ['model', 'endpoint'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'mme_gateway_retries_total',
    help: 'Upstream retries, by reason (not_ready: model loading; scale_from_zero: inference component at zero copies; transient: 5xx, throttling, timeouts, connection errors).',
    labelNames: ['endpoint', 'reason'] as const,
    registers: [this.registry],
  });

  readonly retryBudgetExhausted = new Counter({
    name: 'mme_gateway_retry_budget_exhausted_total',
    help: 'Transient retries not made because the retry budget was spent.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  readonly coldQueueDepth = new Gauge({
    name: 'mme_gateway_cold_queue_depth',
    help: 'Requests waiting for a cold model to finish loading, summed over models.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  readonly coldQueueWait: Histogram<'endpoint' | 'result'>;

  readonly targetInvocations = new Counter({
    name: 'mme_gateway_target_invocations_total',
    help: 'Invocations of one catalog target (a model with fallbacks has several), by outcome; outcome="success" says which target served.',
    labelNames: ['model', 'target', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly fallbacks = new Counter({
    name: 'mme_gateway_fallbacks_total',
    help: 'Requests passed from one catalog target to the next, by the target left and why (circuit_open, cold, throttled, unavailable, unreachable).',
    labelNames: ['model', 'from', 'reason'] as const,
    registers: [this.registry],
  });

  readonly keepWarm = new Counter({
    name: 'mme_gateway_keep_warm_total',
    help: 'Keep-warm calls (never counted as invocations), by result; paused: due while a breaker was open, not sent.',
    labelNames: ['model', 'endpoint', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly breakerState = new Gauge({
    name: 'mme_gateway_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open. Model breakers beyond the label cap are not listed individually.',
    labelNames: ['scope', 'endpoint', 'model'] as const,
    registers: [this.registry],
  });

  readonly breakersOpen = new Gauge({
    name: 'mme_gateway_breakers_open',
    help: 'Circuit breakers currently open.',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });

  readonly breakerTransitions = new Counter({
    name: 'mme_gateway_breaker_transitions_total',
    help: 'Circuit breaker state changes.',
    labelNames: ['scope', 'endpoint', 'to'] as const,
    registers: [this.registry],
  });

  readonly breakersLive = new Gauge({
    name: 'mme_gateway_breakers_live',
    help: 'Model circuit breakers held in memory (bounded by BREAKER_MAX_MODELS).',
    registers: [this.registry],
  });

  readonly inflightRequests = new Gauge({
    name: 'mme_gateway_inflight_requests',
    help: 'HTTP requests being served.',
    registers: [this.registry],
  });

  readonly payloadBytes = new Histogram({
    name: 'mme_gateway_payload_bytes',
    help: 'Prediction payload sizes.',
    labelNames: ['direction'] as const,
    buckets: payloadBuckets,
    registers: [this.registry],
  });

  /** payloadBytes bound to each direction once, instead of a label object per observation. */
  readonly requestPayloadBytes = this.payloadBytes.labels({ direction: 'request' });
  readonly responsePayloadBytes = this.payloadBytes.labels({ direction: 'response' });

  readonly httpRequests = new Counter({
    name: 'mme_gateway_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  private readonly labelledModels = new Set<string>();

  /** Whether the latency histograms carry trace exemplars (then /metrics also speaks OpenMetrics). */
  readonly exemplars: boolean;

  constructor(private readonly maxModelLabels: number, options: GatewayMetricsOptions = {}) {
    this.exemplars = options.exemplars !== undefined;
    this.invocationDuration = latencyHistogram(this.registry, {
      name: 'mme_gateway_invocation_duration_seconds',
      help:
        'End-to-end gateway latency of one prediction request. start="cold" only on evidence of a model load: ' +
        'the call met ModelNotReadyException, waited for another call\'s load, or its upstream time was above ' +
        'max(baseline x COLD_BASELINE_FACTOR, baseline + COLD_BASELINE_FLOOR_MS) of the model\'s warm baseline ' +
        '(or, with no baseline yet, above COLD_FIRST_CALL_MS); otherwise "warm". First sight is not evidence.',
      labelNames: ['model', 'endpoint', 'start', 'outcome'] as const,
    }, options.exemplars);
    this.upstreamDuration = latencyHistogram(this.registry, {
      name: 'mme_gateway_upstream_duration_seconds',
      help: 'Latency of one InvokeEndpoint attempt.',
      labelNames: ['endpoint', 'outcome'] as const,
    }, options.exemplars);
    this.coldQueueWait = latencyHistogram(this.registry, {
      name: 'mme_gateway_cold_queue_wait_seconds',
      help: 'Time a request waited for another request to load its model, by result (released, timeout, queue_full, abandoned: its caller left).',
      labelNames: ['endpoint', 'result'] as const,
    }, options.exemplars);
    if (options.collectProcessMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
      // flags them); the same numbers remain as nodejs_active_{handles,requests,resources} by type.
      for (const name of NON_COUNTER_TOTALS) this.registry.removeSingleMetric(name);
    }
  }

  /**
   * Bounded cardinality: the first `maxModelLabels` distinct model names keep their own label
   * value, every later one is folded into `__other__`, so 10,000 models cannot create 10,000
   * series per metric. Catalog models are registered first at start-up so they always keep theirs.
   */
  modelLabel(model: string): string {
    if (this.labelledModels.has(model)) return model;
    if (this.labelledModels.size >= this.maxModelLabels) return OTHER_MODELS_LABEL;
    this.labelledModels.add(model);
    return model;
  }

  setBreakerState(scope: BreakerScope, endpoint: string, model: string, state: BreakerStateName): void {
    this.breakerTransitions.inc({ scope, endpoint, to: state });
    const modelLabel = scope === 'endpoint' ? '' : this.modelLabel(model);
    if (modelLabel !== OTHER_MODELS_LABEL) {
      this.breakerState.set({ scope, endpoint, model: modelLabel }, breakerStateValue[state]);
    }
  }

  /** Forgets a model breaker's state series when the breaker is evicted. */
  dropBreakerState(endpoint: string, model: string): void {
    const modelLabel = this.modelLabel(model);
    if (modelLabel !== OTHER_MODELS_LABEL) this.breakerState.remove({ scope: 'model', endpoint, model: modelLabel });
  }
}
