/**
 * Multi-model behaviour: each TargetModel is loaded once (one shared load however many
 * callers), after a simulated download + load delay. A caller waits for a loading model up to
 * the ready wait, then gets ModelNotReadyException while the load goes on (up to the load
 * limit). Loaded models stay until the memory budget is exceeded; then the least recently
 * used are unloaded. With LOCAL_MME_IDLE_UNLOAD_MS set, a model unused for that long is
 * unloaded too, silently, as SageMaker unloads idle models. A failed load fails every caller
 * waiting on it, and is remembered for `failedLoadMemoryMs`: a retry within that time gets the
 * same failure at once instead of starting a new load, as a caller of a real MME sees it.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultInjector } from './faults.js';
import type { LoadedModel, ModelLoader } from './model-runtime.js';

export type ModelLookup =
  | { ok: true; model: LoadedModel; loadedNow: boolean }
  | { ok: false; reason: 'not_ready' }
  | { ok: false; reason: 'load_failed'; message: string };

/** The cache's settings, as LocalMmeConfig carries them (LOCAL_MME_* in config.ts). */
export interface ModelCacheSettings {
  loadDelayMs: number;
  readyWaitMs: number;
  loadLimitMs: number;
  memoryBytes: number;
  /** Unload a model unused for this long (0 = only under memory pressure). */
  idleUnloadMs: number;
  /** How long a failed load is remembered (0: not at all). */
  failedLoadMemoryMs: number;
}

export interface ModelCacheOptions extends ModelCacheSettings {
  loader: ModelLoader;
  faults: FaultInjector;
  now?: () => number;
}

export interface ModelStats {
  loads: number;
  loadFailures: number;
  evictions: number;
  /** Unloads after LOCAL_MME_IDLE_UNLOAD_MS without use. */
  idleUnloads: number;
  invocations: number;
}

type Loading = { state: 'loading'; done: Promise<LoadedModel> };
type Loaded = { state: 'loaded'; model: LoadedModel; lastUsedAt: number };
type FailedLoad = { message: string; until: number };


export class ModelCache {
  private readonly loading = new Map<string, Loading>();
  /** Insertion order is recency: a hit deletes and re-inserts, so the first key is the LRU. */
  private readonly loaded = new Map<string, Loaded>();
  private readonly failed = new Map<string, FailedLoad>();
  private usedBytes = 0;
  readonly stats = new Map<string, ModelStats>();
  private readonly now: () => number;

  constructor(private readonly options: ModelCacheOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** The loaded model for `targetModel`, loading it from `archivePath` if needed. */
  async get(targetModel: string, archivePath: string): Promise<ModelLookup> {
    const stats = this.statsFor(targetModel);
    stats.invocations++;
    this.unloadIdle();
    const hit = this.loaded.get(targetModel);
    if (hit) {
      hit.lastUsedAt = this.now();
      this.loaded.delete(targetModel);
      this.loaded.set(targetModel, hit);
      return { ok: true, model: hit.model, loadedNow: false };
    }
    const failure = this.failed.get(targetModel);
    if (failure) {
      if (this.now() < failure.until) return { ok: false, reason: 'load_failed', message: failure.message };
      this.failed.delete(targetModel);
    }
    const loading = this.loading.get(targetModel) ?? this.startLoad(targetModel, archivePath, stats);
    let timer: NodeJS.Timeout | undefined;
    const notReady = new Promise<'not_ready'>((resolve) => {
      timer = setTimeout(() => resolve('not_ready'), this.options.readyWaitMs);
    });
    try {
      const outcome = await Promise.race([loading.done, notReady]);
      if (outcome === 'not_ready') return { ok: false, reason: 'not_ready' };
      return { ok: true, model: outcome, loadedNow: true };
    } catch (error) {
      return { ok: false, reason: 'load_failed', message: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether `targetModel` is in memory (without touching its recency). */
  isLoaded(targetModel: string): boolean {
    this.unloadIdle();
    return this.loaded.has(targetModel);
  }

  /** Models currently in memory, least recently used first. */
  loadedModels(): string[] {
    this.unloadIdle();
    return [...this.loaded.keys()];
  }

  loadingModels(): string[] {
    return [...this.loading.keys()];
  }

  get memoryUsedBytes(): number {
    return this.usedBytes;
  }

  private statsFor(targetModel: string): ModelStats {
    let stats = this.stats.get(targetModel);
    if (!stats) {
      stats = { loads: 0, loadFailures: 0, evictions: 0, idleUnloads: 0, invocations: 0 };
      this.stats.set(targetModel, stats);
    }
    return stats;
  }

  private startLoad(targetModel: string, archivePath: string, stats: ModelStats): Loading {
    const { faults, loader, loadLimitMs } = this.options;
    const delayMs = faults.loadDelayFor(targetModel, this.options.loadDelayMs);
    const load = (async () => {
      await sleep(delayMs);
      if (faults.loadFails(targetModel)) throw new Error(`Failed to load model ${targetModel} (injected fault).`);
      return loader(archivePath);
    })();
    let limitTimer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      limitTimer = setTimeout(() => reject(new Error(`Model ${targetModel} did not load within ${loadLimitMs} ms.`)), loadLimitMs);
    });
    const done = Promise.race([load, limit]).finally(() => clearTimeout(limitTimer));
    const entry: Loading = { state: 'loading', done };
    this.loading.set(targetModel, entry);
    done.then(
      (model) => {
        this.loading.delete(targetModel);
        stats.loads++;
        this.loaded.set(targetModel, { state: 'loaded', model, lastUsedAt: this.now() });
        this.usedBytes += model.memoryBytes;
        this.evictOverBudget(targetModel);
      },
      (error: unknown) => {
        this.loading.delete(targetModel);
        stats.loadFailures++;
        if (this.options.failedLoadMemoryMs > 0) {
          this.failed.set(targetModel, { message: (error as Error).message, until: this.now() + this.options.failedLoadMemoryMs });
        }
      },
    );
    return entry;
  }

  /** Recency order is usage order, so the idle models are a prefix of `loaded`. */
  private unloadIdle(): void {
    const idleMs = this.options.idleUnloadMs;
    if (idleMs === 0) return;
    const cutoff = this.now() - idleMs;
    for (const [name, entry] of this.loaded) {
      if (entry.lastUsedAt > cutoff) return;
      this.loaded.delete(name);
      this.usedBytes -= entry.model.memoryBytes;
      this.statsFor(name).idleUnloads++;
    }
  }

  private evictOverBudget(justLoaded: string): void {
    for (const [name, entry] of this.loaded) {
      if (this.usedBytes <= this.options.memoryBytes) return;
      if (name === justLoaded) continue;
      this.loaded.delete(name);
      this.usedBytes -= entry.model.memoryBytes;
      this.statsFor(name).evictions++;
    }
  }
}
