/**
 * What the gateway knows about each (endpoint, target model): cold, loading or warm, with the
 * last success and latency. Bounded LRU: 10,000 distinct models cost a bounded amount of
 * memory; a forgotten model is simply "not known warm" again (cold), which is safe.
 */
import { LRUCache } from 'lru-cache';

export type ModelLoadState = 'cold' | 'loading' | 'warm';
export type StartKind = 'cold' | 'warm';

export interface ModelStatus {
  name: string;
  endpoint: string;
  targetModel: string;
  state: ModelLoadState;
  lastSuccessAt: number | undefined;
  lastLatencyMs: number | undefined;
  lastStart: StartKind | undefined;
}

export function modelKey(endpoint: string, targetModel: string): string {
  return `${endpoint}\n${targetModel}`;
}

export function endpointOfKey(key: string): string {
  return key.slice(0, key.indexOf('\n'));
}

export class ModelStateStore {
  private readonly models: LRUCache<string, ModelStatus>;

  constructor(maxModels: number, private readonly now: () => number = Date.now) {
    this.models = new LRUCache({ max: maxModels });
  }

  get(key: string): ModelStatus | undefined {
    return this.models.get(key);
  }

  isWarm(key: string): boolean {
    return this.models.get(key)?.state === 'warm';
  }

  private entry(key: string, name: string, endpoint: string, targetModel: string): ModelStatus {
    let status = this.models.get(key);
    if (!status) {
      status = { name, endpoint, targetModel, state: 'cold', lastSuccessAt: undefined, lastLatencyMs: undefined, lastStart: undefined };
      this.models.set(key, status);
    }
    return status;
  }

  markLoading(key: string, name: string, endpoint: string, targetModel: string): void {
    this.entry(key, name, endpoint, targetModel).state = 'loading';
  }

  /** The container answered (even with its own error), so the model is in memory. */
  markLoaded(key: string, name: string, endpoint: string, targetModel: string): void {
    this.entry(key, name, endpoint, targetModel).state = 'warm';
  }

  recordSuccess(key: string, name: string, endpoint: string, targetModel: string, latencyMs: number, start: StartKind): void {
    const status = this.entry(key, name, endpoint, targetModel);
    status.state = 'warm';
    status.lastSuccessAt = this.now();
    status.lastLatencyMs = latencyMs;
    status.lastStart = start;
  }

  list(): ModelStatus[] {
    return [...this.models.values()];
  }

  get size(): number {
    return this.models.size;
  }
}
