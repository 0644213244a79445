import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InternalDependencyException,
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { AttemptTimeoutError, UpstreamFailure, toGatewayError } from '../../src/invoke/upstream-errors.js';

const meta = { $metadata: {} };
const modelError = (status: number) =>
  new ModelError({ ...meta, message: 'container said no', OriginalStatusCode: status, OriginalMessage: `orig ${status}` });

describe('upstream error classification (the SDK exception classes)', () => {
  const cases: Array<[unknown, string, number, string, boolean, boolean]> = [
    [new ModelNotReadyException({ ...meta, message: 'loading' }), 'not_ready', 503, 'MODEL_NOT_READY', false, false],
    [modelError(400), 'model_error', 400, 'MODEL_ERROR', false, false],
    [modelError(500), 'model_error', 502, 'MODEL_ERROR', false, true],
    [new ValidationError({ ...meta, message: 'bad' }), 'validation', 400, 'UPSTREAM_VALIDATION_ERROR', false, false],
    [
      new ValidationError({
        ...meta,
        message: 'Failed to download model data(bucket: models, key: prefix/nope.tar.gz). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.',
      }),
      'model_not_found',
      404,
      'MODEL_NOT_FOUND',
      false,
      false,
    ],
    // The match is narrow: the words elsewhere in a message, or on another error type, are not a missing model.
    [new ValidationError({ ...meta, message: 'Header X: Failed to download model data' }), 'validation', 400, 'UPSTREAM_VALIDATION_ERROR', false, false],
    [new InternalFailure({ ...meta, message: 'Failed to download model data(bucket: b, key: k)' }), 'internal', 502, 'UPSTREAM_ERROR', true, false],
    [new ServiceUnavailable({ ...meta, message: 'x' }), 'unavailable', 503, 'UPSTREAM_UNAVAILABLE', true, false],
    [new InternalFailure({ ...meta, message: 'x' }), 'internal', 502, 'UPSTREAM_ERROR', true, false],
    [new InternalDependencyException({ ...meta, message: 'x' }), 'internal', 502, 'UPSTREAM_ERROR', true, false],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'connection', 502, 'UPSTREAM_UNREACHABLE', true, false],
    [new AttemptTimeoutError(70_000, false), 'timeout', 504, 'UPSTREAM_TIMEOUT', true, false],
    [new AttemptTimeoutError(50, true), 'deadline', 504, 'DEADLINE_EXCEEDED', false, false],
  ];
  for (const [error, kind, status, code, endpointFailure, modelFailure] of cases) {
    it(`${(error as Error).name} (${kind}) → ${status} ${code}`, () => {
      const failure = new UpstreamFailure(error);
      assert.equal(failure.kind, kind);
      assert.equal(failure.endpointFailure, endpointFailure);
      assert.equal(failure.modelFailure, modelFailure);
      if (kind !== 'not_ready') {
        const mapped = toGatewayError(error);
        assert.equal(mapped.status, status);
        assert.equal(mapped.code, code);
      }
    });
  }

  it("keeps the container's original status and message on ModelError", () => {
    const mapped = toGatewayError(modelError(415));
    assert.equal(mapped.status, 415);
    assert.deepEqual(mapped.extensions, { originalStatus: 415, originalMessage: 'orig 415' });
  });
});
