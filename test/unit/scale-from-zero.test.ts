/**
 * The scale-from-zero recognition alone: only a ValidationError whose message matches the
 * pattern, on an inference-component call, becomes InferenceComponentNoCapacity (a cold start);
 * every other error passes through unchanged. The pattern is a setting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelNotReadyException, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_NO_CAPACITY_PATTERN, ScaleFromZeroError, recognizeScaleFromZero } from '../../src/invoke/scale-from-zero.js';
import type { InvokeEndpointParams, UpstreamTransport } from '../../src/invoke/transport.js';
import { classifyUpstreamError } from '../../src/invoke/upstream-errors.js';
import { NO_CAPACITY_MESSAGE } from '../../src/sagemaker-wire.js';

const meta = { $metadata: { httpStatusCode: 400 } };
const params = (over: Partial<InvokeEndpointParams>): InvokeEndpointParams => ({
  endpoint: 'e',
  targetModel: undefined,
  inferenceComponent: 'ic',
  body: new Uint8Array(),
  contentType: 'text/csv',
  accept: undefined,
  customAttributes: undefined,
  inferenceId: undefined,
  targetVariant: undefined,
  ...over,
});

function failingWith(error: Error, pattern = new RegExp(DEFAULT_NO_CAPACITY_PATTERN)) {
  const transport: UpstreamTransport = {
    invokeEndpoint: () => Promise.reject(error),
    close() {},
  };
  return recognizeScaleFromZero(transport, pattern);
}

const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

describe('scale-from-zero recognition', () => {
  it("turns SageMaker's no-capacity ValidationError on a component call into a cold start", async () => {
    const error = await caught(failingWith(new ValidationError({ ...meta, message: NO_CAPACITY_MESSAGE })).invokeEndpoint(params({}), new AbortController().signal));
    assert.ok(error instanceof ScaleFromZeroError);
    assert.equal(classifyUpstreamError(error), 'no_capacity');
  });

  it('leaves every other error alone', async () => {
    const signal = new AbortController().signal;
    const otherValidation = new ValidationError({ ...meta, message: 'Inference Component ic not found.' });
    assert.equal(await caught(failingWith(otherValidation).invokeEndpoint(params({}), signal)), otherValidation);
    const notReady = new ModelNotReadyException({ ...meta, message: NO_CAPACITY_MESSAGE });
    assert.equal(await caught(failingWith(notReady).invokeEndpoint(params({}), signal)), notReady, 'only the ValidationError type');
    const onTargetModel = new ValidationError({ ...meta, message: NO_CAPACITY_MESSAGE });
    assert.equal(
      await caught(failingWith(onTargetModel).invokeEndpoint(params({ inferenceComponent: undefined, targetModel: 'm.tar.gz' }), signal)),
      onTargetModel,
      'only inference-component calls',
    );
    const quoted = new ValidationError({ ...meta, message: `Bad header: ${NO_CAPACITY_MESSAGE}` });
    assert.equal(await caught(failingWith(quoted).invokeEndpoint(params({}), signal)), quoted, 'anchored at the start of the message');
  });

  it('takes its pattern from IC_NO_CAPACITY_PATTERN, and refuses a pattern that is not a regular expression', async () => {
    const config = loadConfig({ IC_NO_CAPACITY_PATTERN: '^No copies left' });
    const reworded = new ValidationError({ ...meta, message: 'No copies left for ic' });
    const error = await caught(failingWith(reworded, config.noCapacityPattern).invokeEndpoint(params({}), new AbortController().signal));
    assert.ok(error instanceof ScaleFromZeroError);
    assert.equal(loadConfig({}).noCapacityPattern.source, DEFAULT_NO_CAPACITY_PATTERN);
    assert.throws(() => loadConfig({ IC_NO_CAPACITY_PATTERN: '(' }), /IC_NO_CAPACITY_PATTERN/);
  });
});
