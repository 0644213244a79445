/**
 * Recognises SageMaker's answer to an invocation while an inference component has no copies
 * (scaled to zero, or a scale-out still provisioning): a ValidationError whose message matches
 * IC_NO_CAPACITY_PATTERN. A transport step, so the rest of the path sees a distinct error
 * (`InferenceComponentNoCapacity`) and treats it as a cold start instead of the caller's
 * mistake. Matched narrowly, type and message both, so no other ValidationError can pass for it;
 * the pattern is a setting in case AWS rewords the message.
 */
import { NO_CAPACITY_MESSAGE } from '../sagemaker-wire.js';
import type { UpstreamTransport } from './transport.js';

/** The first sentence of SageMaker's message, anchored at its start. */
export const DEFAULT_NO_CAPACITY_PATTERN = `^${NO_CAPACITY_MESSAGE.slice(0, NO_CAPACITY_MESSAGE.indexOf('.') + 1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;

export class ScaleFromZeroError extends Error {
  override name = 'InferenceComponentNoCapacity';
  constructor(readonly upstream: Error) {
    super(upstream.message);
  }
}

export function isNoCapacityAnswer(error: unknown, pattern: RegExp): boolean {
  const e = error as { name?: unknown; message?: unknown } | undefined;
  return (e?.name === 'ValidationError' || e?.name === 'ValidationException') && typeof e.message === 'string' && pattern.test(e.message);
}

export function recognizeScaleFromZero(transport: UpstreamTransport, pattern: RegExp): UpstreamTransport {
  return {
    async invokeEndpoint(params, signal) {
      try {
        return await transport.invokeEndpoint(params, signal);
      } catch (error) {
        // Only an inference-component call can meet it; a TargetModel call keeps its error.
        if (params.inferenceComponent !== undefined && isNoCapacityAnswer(error, pattern)) throw new ScaleFromZeroError(error as Error);
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
