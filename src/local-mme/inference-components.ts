/**
 * Inference components with scale-to-zero, as SageMaker runs them since December 2024: each
 * component starts with one copy; after LOCAL_MME_IC_IDLE_MS without traffic it has zero
 * copies (SageMaker's target-tracking scale-in). An invocation at zero copies is refused with
 * SageMaker's no-capacity ValidationError and starts provisioning (SageMaker's step-scaling
 * policy on the NoCapacityInvocationFailures alarm), which takes LOCAL_MME_IC_PROVISION_MS;
 * every invocation meanwhile is refused the same way. Idleness is evaluated when a component
 * is used or inspected, so an idle emulator runs no timers.
 */
import { performance } from 'node:perf_hooks';
import type { LoadedModel, ModelLoader } from './model-runtime.js';

export type ComponentLookup =
  | { ok: true; model: LoadedModel }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'no_capacity' }
  | { ok: false; reason: 'load_failed'; message: string };

export interface ComponentStats {
  copies: 0 | 1;
  provisioning: boolean;
  invocations: number;
  /** Invocations refused for lack of capacity (SageMaker's NoCapacityInvocationFailures). */
  noCapacity: number;
  /** Scale-outs from zero that completed. */
  provisions: number;
  /** Scale-ins to zero after the idle time. */
  scaleIns: number;
}

interface Component {
  archivePath: string;
  copies: 0 | 1;
  lastTrafficAt: number;
  provisionTimer: NodeJS.Timeout | undefined;
  model: Promise<LoadedModel> | undefined;
  stats: Omit<ComponentStats, 'copies' | 'provisioning'>;
}

export interface InferenceComponentOptions {
  /** Component name → absolute archive path (already checked to lie in the model directory). */
  archives: Map<string, string>;
  loader: ModelLoader;
  /** Without traffic for this long, a component scales in to zero copies (0 = never). */
  idleMs: number;
  provisionMs: number;
  now?: () => number;
}

export class InferenceComponents {
  private readonly components = new Map<string, Component>();
  private readonly now: () => number;

  constructor(private readonly options: InferenceComponentOptions) {
    this.now = options.now ?? (() => performance.now());
    for (const [name, archivePath] of options.archives) {
      this.components.set(name, {
        archivePath,
        copies: 1,
        lastTrafficAt: this.now(),
        provisionTimer: undefined,
        model: undefined,
        stats: { invocations: 0, noCapacity: 0, provisions: 0, scaleIns: 0 },
      });
    }
  }

  async invoke(name: string): Promise<ComponentLookup> {
    const component = this.components.get(name);
    if (!component) return { ok: false, reason: 'unknown' };
    this.scaleInIfIdle(component);
    if (component.copies === 0) {
      component.stats.noCapacity++;
      this.provision(component);
      return { ok: false, reason: 'no_capacity' };
    }
    component.lastTrafficAt = this.now();
    component.stats.invocations++;
    component.model ??= this.options.loader(component.archivePath);
    try {
      return { ok: true, model: await component.model };
    } catch (error) {
      component.model = undefined; // a failed load is not remembered, as for MME models
      return { ok: false, reason: 'load_failed', message: (error as Error).message };
    }
  }

  has(name: string): boolean {
    return this.components.has(name);
  }

  stats(): Record<string, ComponentStats> {
    const result: Record<string, ComponentStats> = {};
    for (const [name, component] of this.components) {
      this.scaleInIfIdle(component);
      result[name] = { copies: component.copies, provisioning: component.provisionTimer !== undefined, ...component.stats };
    }
    return result;
  }

  close(): void {
    for (const component of this.components.values()) clearTimeout(component.provisionTimer);
  }

  private scaleInIfIdle(component: Component): void {
    const { idleMs } = this.options;
    if (component.copies === 0 || idleMs === 0 || this.now() - component.lastTrafficAt < idleMs) return;
    component.copies = 0;
    component.model = undefined;
    component.stats.scaleIns++;
  }

  /** One provisioning at a time per component, however many callers were refused meanwhile. */
  private provision(component: Component): void {
    if (component.provisionTimer) return;
    component.provisionTimer = setTimeout(() => {
      component.provisionTimer = undefined;
      component.copies = 1;
      component.lastTrafficAt = this.now();
      component.stats.provisions++;
    }, this.options.provisionMs);
    component.provisionTimer.unref();
  }
}
