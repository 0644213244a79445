/**
 * What the gateway knows about each (endpoint, target model), learnt only from what calls saw:
 * whether it answered (warm), is loading, or keeps failing, its warm-latency baseline and the
 * last cold start's reason. Never having seen a model proves nothing about the upstream, so a
 * model starts `cold` (not known loaded: the next call probes it) and the first call is labelled
 * by what happened to it (see cold-evidence.ts). Bounded LRU: a forgotten model is simply not
 * known warm again, which is safe.
 */
import { LRUCache } from 'lru-cache';
import type { GatewayError } from '../errors.js';
import { type ColdReason, type StartKind, updateBaseline } from './cold-evidence.js';

export type ModelLoadState = 'cold' | 'loading' | 'warm' | 'failing';

/** What a model state is about: the catalog's resolved model carries these three. */
export interface ModelRef {
  name: string;
  endpoint: string;
  targetModel: string;
}

export interface ModelFailure {
  error: GatewayError;
  /** Epoch ms. */
  at: number;
}

export interface ModelStatus extends ModelRef {
  state: ModelLoadState;
  lastSuccessAt: number | undefined;
  lastLatencyMs: number | undefined;
  lastStart: StartKind | undefined;
  /** EWMA of the upstream time of warm answers; undefined until one warm answer was seen. */
  warmBaselineMs: number | undefined;
  lastColdReason: ColdReason | undefined;
  lastColdAt: number | undefined;
  lastFailure: ModelFailure | undefined;
  /** Failed loads and 5xx ModelErrors in a row (reset by any answer from the container). */
  consecutiveFailures: number;
  /** Times a call saw this model load (a cold answer or a failed load); waiters compare it. */
  loadsSeen: number;
  /** Times a load failed (a cold call ended in a 5xx ModelError); waiters compare it. */
  failedLoadsSeen: number;
  /**
   * Invoker-clock window of the last load inferred from timing. A call sent inside it waited on
   * that same load, even if its own upstream time looks short.
   */
  lastLoadWindow: { from: number; to: number } | undefined;
}

/** What a waiter remembers before waiting, to learn what happened meanwhile. */
export interface StateMark {
  loadsSeen: number;
  failedLoadsSeen: number;
}

export function modelKey(endpoint: string, targetModel: string): string {
  return `${endpoint}\n${targetModel}`;
}

export function endpointOfKey(key: string): string {
  return key.slice(0, key.indexOf('\n'));
}

export interface AnswerRecord {
  upstreamMs: number;
  coldReason: ColdReason | undefined;
  /** Whether the call succeeded (a container 4xx also proves the model is loaded). */
  succeeded: boolean;
  latencyMs: number;
  attemptWindow: { from: number; to: number };
}

/** A model no call has told anything about yet. */
export function unknownModel(model: ModelRef): ModelStatus {
  return {
    name: model.name,
    endpoint: model.endpoint,
    targetModel: model.targetModel,
    state: 'cold',
    lastSuccessAt: undefined,
    lastLatencyMs: undefined,
    lastStart: undefined,
    warmBaselineMs: undefined,
    lastColdReason: undefined,
    lastColdAt: undefined,
    lastFailure: undefined,
    consecutiveFailures: 0,
    loadsSeen: 0,
    failedLoadsSeen: 0,
    lastLoadWindow: undefined,
  };
}

export function targetModelOfKey(key: string): string {
  return key.slice(key.indexOf('\n') + 1);
}

export class ModelStateStore {
  private readonly models: LRUCache<string, ModelStatus>;

  /** `now` is wall-clock epoch ms, for the timestamps GET /models reports. */
  constructor(maxModels: number, private readonly now: () => number = Date.now) {
    this.models = new LRUCache({ max: maxModels });
  }

  get(model: ModelRef): ModelStatus | undefined {
    return this.models.get(modelKey(model.endpoint, model.targetModel));
  }

  isWarm(model: ModelRef): boolean {
    return this.get(model)?.state === 'warm';
  }

  mark(model: ModelRef): StateMark {
    const status = this.get(model);
    return { loadsSeen: status?.loadsSeen ?? 0, failedLoadsSeen: status?.failedLoadsSeen ?? 0 };
  }

  /** What happened to the model since `mark`: a load seen, and the failure if a load failed. */
  since(model: ModelRef, mark: StateMark): { loaded: boolean; failedLoad: GatewayError | undefined } {
    const status = this.get(model);
    if (!status) return { loaded: false, failedLoad: undefined };
    const failed = status.failedLoadsSeen !== mark.failedLoadsSeen && status.state === 'failing';
    return { loaded: status.loadsSeen !== mark.loadsSeen, failedLoad: failed ? status.lastFailure?.error : undefined };
  }

  /** ModelNotReadyException: SageMaker is loading it. */
  markLoading(model: ModelRef): void {
    this.entry(model).state = 'loading';
  }

  /** The container answered: the model is in memory. */
  recordAnswer(model: ModelRef, answer: AnswerRecord): void {
    const status = this.entry(model);
    status.state = 'warm';
    status.consecutiveFailures = 0;
    if (answer.coldReason) {
      status.lastColdReason = answer.coldReason;
      status.lastColdAt = this.now();
      status.loadsSeen++;
      if (answer.coldReason === 'inferred_reload' || answer.coldReason === 'slow_first_call') status.lastLoadWindow = answer.attemptWindow;
    } else {
      status.warmBaselineMs = updateBaseline(status.warmBaselineMs, answer.upstreamMs);
    }
    if (answer.succeeded) {
      status.lastSuccessAt = this.now();
      status.lastLatencyMs = answer.latencyMs;
      status.lastStart = answer.coldReason ? 'cold' : 'warm';
    }
  }

  /** A failed load or a 5xx ModelError. `coldReason` set: the call saw a load, so it failed. */
  recordFailure(model: ModelRef, error: GatewayError, coldReason: ColdReason | undefined): void {
    const status = this.entry(model);
    status.state = 'failing';
    status.consecutiveFailures++;
    status.lastFailure = { error, at: this.now() };
    if (coldReason) {
      status.loadsSeen++;
      status.failedLoadsSeen++;
    }
  }

  list(): ModelStatus[] {
    return [...this.models.values()];
  }

  get size(): number {
    return this.models.size;
  }

  private entry(model: ModelRef): ModelStatus {
    const key = modelKey(model.endpoint, model.targetModel);
    let status = this.models.get(key);
    if (!status) {
      status = unknownModel(model);
      this.models.set(key, status);
    }
    return status;
  }
}
