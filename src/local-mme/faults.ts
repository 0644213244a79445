/**
 * Fault injection for tests and soak runs (local MME only). A plan gives per-request
 * probabilities of each SageMaker error type, connection resets and hangs, added latency,
 * and per-model overrides (always-failing models, slow or failing loads). A seeded random
 * source makes a run reproducible. Set by LOCAL_MME_FAULTS (JSON) or PUT /_local/faults.
 */
import { z } from 'zod';
import type { SageMakerErrorType } from '../sagemaker-wire.js';

const rate = z.number().min(0).max(1);

const errorRatesSchema = z
  .strictObject({
    ValidationError: rate,
    ModelError: rate,
    ModelNotReadyException: rate,
    InternalFailure: rate,
    ServiceUnavailable: rate,
    InternalDependencyException: rate,
  })
  .partial();

const behaviourSchema = z.strictObject({
  errorRates: errorRatesSchema.optional(),
  /** OriginalStatusCode of injected ModelErrors. */
  modelErrorStatus: z.number().int().min(400).max(599).optional(),
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  latencyJitterMs: z.number().int().min(0).max(600_000).optional(),
  /** Probability of destroying the connection without answering. */
  resetRate: rate.optional(),
  /** Probability of never answering (the socket stays open). */
  hangRate: rate.optional(),
});

export const faultPlanSchema = behaviourSchema.extend({
  seed: z.number().int().default(1),
  /** The whole endpoint stops answering. */
  hang: z.boolean().default(false),
  /** Overrides per TargetModel (e.g. "broken.tar.gz"). */
  models: z
    .record(
      z.string(),
      behaviourSchema.extend({
        /** Replaces LOCAL_MME_LOAD_DELAY_MS for this model. */
        loadDelayMs: z.number().int().min(0).max(3_600_000).optional(),
        /** Loads of this model fail (callers get ModelError). */
        failLoad: z.boolean().optional(),
      }),
    )
    .default({}),
});

export type FaultPlan = z.infer<typeof faultPlanSchema>;

export type FaultDecision =
  | { kind: 'none'; delayMs: number }
  | { kind: 'error'; type: SageMakerErrorType; modelErrorStatus: number; delayMs: number }
  | { kind: 'reset'; delayMs: number }
  | { kind: 'hang' };

/** mulberry32: tiny, fast, seedable; statistical quality is ample for fault rates. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ERROR_TYPES = [
  'ValidationError',
  'ModelError',
  'ModelNotReadyException',
  'InternalFailure',
  'ServiceUnavailable',
  'InternalDependencyException',
] as const;

export class FaultInjector {
  private random: () => number;

  constructor(private plan: FaultPlan) {
    this.random = seededRandom(plan.seed);
  }

  get current(): FaultPlan {
    return this.plan;
  }

  set(plan: FaultPlan): void {
    this.plan = plan;
    this.random = seededRandom(plan.seed);
  }

  loadDelayFor(targetModel: string, fallbackMs: number): number {
    return this.plan.models[targetModel]?.loadDelayMs ?? fallbackMs;
  }

  loadFails(targetModel: string): boolean {
    return this.plan.models[targetModel]?.failLoad === true;
  }

  /** What to do with one invocation of `targetModel`. */
  decide(targetModel: string): FaultDecision {
    const plan = this.plan;
    if (plan.hang) return { kind: 'hang' };
    const model = plan.models[targetModel];
    const latency = model?.latencyMs ?? plan.latencyMs ?? 0;
    const jitter = model?.latencyJitterMs ?? plan.latencyJitterMs ?? 0;
    const delayMs = latency + (jitter > 0 ? Math.floor(this.random() * jitter) : 0);
    if (this.random() < (model?.hangRate ?? plan.hangRate ?? 0)) return { kind: 'hang' };
    if (this.random() < (model?.resetRate ?? plan.resetRate ?? 0)) return { kind: 'reset', delayMs };
    const rates = { ...plan.errorRates, ...model?.errorRates };
    let roll = this.random();
    for (const type of ERROR_TYPES) {
      const p = rates[type] ?? 0;
      if (roll < p) {
        return { kind: 'error', type, modelErrorStatus: model?.modelErrorStatus ?? plan.modelErrorStatus ?? 500, delayMs };
      }
      roll -= p;
    }
    return { kind: 'none', delayMs };
  }
}
