/**
 * The "cold or warm" rules: a call is cold only on evidence that it paid for a model load.
 *
 *  - not_ready:       it met ModelNotReadyException (SageMaker said the model is loading);
 *  - waited:          it waited for another call's load: in the cold-start queue, or it was
 *                     sent while a load was in progress upstream (inside the window of a load
 *                     inferred from timing, or while an older call to the same model had been
 *                     waiting longer than the cold threshold and still had no answer);
 *  - inferred_reload: its upstream time was far above this model's warm baseline: above both
 *                     baseline × factor and baseline + floor. SageMaker unloads idle models
 *                     without telling anyone and reloads within 60 s without ModelNotReady, so
 *                     timing is the only evidence of such a reload;
 *  - slow_first_call: no baseline yet (first call by this process) and its upstream time was
 *                     above the absolute first-call threshold;
 *  - scale_from_zero: it met SageMaker's no-capacity answer: an inference component with zero
 *                     copies, scaling out (scale-from-zero.ts).
 *
 * Being seen for the first time by this process is not evidence: after a restart, a deploy or
 * behind a load balancer the upstream may well hold the model. Limits: a reload faster than the
 * thresholds counts as warm, and a warm call slower than them counts as cold.
 */

export type StartKind = 'cold' | 'warm';

export const coldReasons = ['not_ready', 'waited', 'inferred_reload', 'slow_first_call', 'scale_from_zero'] as const;
export type ColdReason = (typeof coldReasons)[number];

export interface ColdEvidenceSettings {
  /** An upstream time above baseline × factor (and baseline + floor) is an inferred reload. */
  baselineFactor: number;
  /** ... and it must also exceed the baseline by this much, so slow inferences do not count. */
  baselineFloorMs: number;
  /** With no baseline yet, an upstream time above this is a slow first call (cold). */
  firstCallMs: number;
}

/** Weight of the newest warm sample in the baseline (an EWMA: recent calls count most). */
const BASELINE_WEIGHT = 0.2;

export function updateBaseline(baselineMs: number | undefined, sampleMs: number): number {
  return baselineMs === undefined ? sampleMs : baselineMs + BASELINE_WEIGHT * (sampleMs - baselineMs);
}

/** The upstream time above which a call counts as cold, given what is known of the model. */
export function coldThresholdMs(baselineMs: number | undefined, settings: ColdEvidenceSettings): number {
  if (baselineMs === undefined) return settings.firstCallMs;
  return Math.max(baselineMs * settings.baselineFactor, baselineMs + settings.baselineFloorMs);
}

export interface AttemptTiming {
  upstreamMs: number;
  /** When the answering attempt was sent (invoker clock). */
  sentAt: number;
  /** Now (invoker clock). */
  answeredAt: number;
  /** When the oldest attempt to the same model still waiting for its answer was sent, if any. */
  oldestInFlightSentAt: number | undefined;
}

/** The timing evidence of one answered attempt (undefined: warm by timing). */
export function coldReasonFromTiming(
  timing: AttemptTiming,
  known: { warmBaselineMs: number | undefined; lastLoadWindow: { from: number; to: number } | undefined } | undefined,
  settings: ColdEvidenceSettings,
): ColdReason | undefined {
  const baselineMs = known?.warmBaselineMs;
  const thresholdMs = coldThresholdMs(baselineMs, settings);
  if (timing.upstreamMs > thresholdMs) return baselineMs === undefined ? 'slow_first_call' : 'inferred_reload';
  const window = known?.lastLoadWindow;
  if (window && timing.sentAt >= window.from && timing.sentAt < window.to) return 'waited';
  const oldest = timing.oldestInFlightSentAt;
  if (oldest !== undefined && oldest < timing.sentAt && timing.answeredAt - oldest > thresholdMs) return 'waited';
  return undefined;
}
