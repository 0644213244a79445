/**
 * The lean transport (the SDK's credential chain and SigV4 signer over undici) against the AWS
 * SDK client itself, both calling the real local MME: the same answers, the same headers seen
 * by the server, and the same SDK exception classes with the same fields for every error type.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLeanTransport } from '../../src/invoke/lean-transport.js';
import { createSdkTransport } from '../../src/invoke/sdk-transport.js';
import type { InvokeEndpointParams, UpstreamTransport } from '../../src/invoke/transport.js';
import { parseLocalMmeConfig } from '../../src/local-mme/config.js';
import { createLocalMme, type LocalMme } from '../../src/local-mme/server.js';
import { createLogger } from '../../src/logger.js';

const params = (overrides: Partial<InvokeEndpointParams> = {}): InvokeEndpointParams => ({
  endpoint: 'local-mme',
  targetModel: 'churn.tar.gz',
  body: new TextEncoder().encode('12,70.5,3,1,0,1\n60,20,0,0,1,0'),
  contentType: 'text/csv',
  accept: 'text/csv',
  customAttributes: 'trace=abc',
  inferenceId: 'inf-1',
  targetVariant: undefined,
  ...overrides,
});

describe('lean transport ≡ SDK client, against the local MME', () => {
  let mme: LocalMme;
  let lean: UpstreamTransport;
  let sdk: UpstreamTransport;
  const seen: IncomingHttpHeaders[] = [];
  let mmeUrl: string;
  const setFaults = async (plan: object) => {
    const response = await fetch(`${mmeUrl}/_local/faults`, { method: 'PUT', body: JSON.stringify(plan) });
    assert.equal(response.status, 200);
  };

  before(async () => {
    const config = parseLocalMmeConfig({ LOCAL_MME_PORT: '0', LOCAL_MME_LOAD_DELAY_MS: '0', LOCAL_MME_INFERENCE_COMPONENTS: 'churn-ic=churn.tar.gz' });
    mme = createLocalMme({ config, logger: createLogger('error', { silent: true }) });
    mme.server.prependListener('request', (req) => seen.push(req.headers));
    const { url } = await mme.listen();
    mmeUrl = url;
    const options = {
      region: 'us-east-1',
      endpointUrl: url,
      connectTimeoutMs: 1_000,
      socketTimeoutMs: 5_000,
      maxSockets: 8,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    };
    lean = createLeanTransport(options);
    sdk = createSdkTransport(options);
  });
  after(async () => {
    lean.close();
    sdk.close();
    await mme.close();
  });

  const both = async (p: InvokeEndpointParams) => {
    const outcome = (t: UpstreamTransport) =>
      t.invokeEndpoint(p, new AbortController().signal).then(
        (output) => ({ ok: true as const, output, headers: seen.at(-1)! }),
        (error: Error & Record<string, unknown>) => ({ ok: false as const, error, headers: seen.at(-1)! }),
      );
    return { lean: await outcome(lean), sdk: await outcome(sdk) };
  };

  it('gives the same answer and sends the same SageMaker headers', async () => {
    const { lean: l, sdk: s } = await both(params());
    assert.ok(l.ok && s.ok);
    assert.equal(Buffer.from(l.output.body).toString(), Buffer.from(s.output.body).toString());
    assert.equal(l.output.contentType, s.output.contentType);
    assert.equal(l.output.customAttributes, 'trace=abc');
    assert.equal(l.output.customAttributes, s.output.customAttributes);
    assert.equal(l.output.invokedVariant, s.output.invokedVariant);
    assert.ok(l.output.upstreamRequestId && s.output.upstreamRequestId);
    for (const name of ['content-type', 'accept', 'x-amzn-sagemaker-target-model', 'x-amzn-sagemaker-custom-attributes', 'x-amzn-sagemaker-inference-id', 'content-length']) {
      assert.equal(l.headers[name], s.headers[name], name);
    }
    for (const headers of [l.headers, s.headers]) {
      assert.match(String(headers['authorization']), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/sagemaker\/aws4_request, SignedHeaders=.*host.*x-amz-date.*, Signature=[0-9a-f]{64}$/);
      assert.match(String(headers['x-amz-content-sha256'] ?? headers['x-amz-date']), /.+/);
    }
  });

  it('addresses an inference component and a container hostname the same way', async () => {
    const { lean: l, sdk: s } = await both(params({ targetModel: undefined, inferenceComponent: 'churn-ic', targetContainerHostname: 'main' }));
    assert.ok(l.ok && s.ok);
    assert.equal(Buffer.from(l.output.body).toString(), Buffer.from(s.output.body).toString());
    for (const name of ['x-amzn-sagemaker-inference-component', 'x-amzn-sagemaker-target-container-hostname', 'x-amzn-sagemaker-target-model']) {
      assert.equal(l.headers[name], s.headers[name], name);
    }
    assert.equal(l.headers['x-amzn-sagemaker-inference-component'], 'churn-ic');
    assert.equal(l.headers['x-amzn-sagemaker-target-container-hostname'], 'main');
    assert.equal(l.headers['x-amzn-sagemaker-target-model'], undefined, 'no TargetModel for a component');
  });

  it('raises the same SDK exception classes with the same fields', async () => {
    const cases: Array<[string, Partial<InvokeEndpointParams>, object]> = [
      ['ValidationError', { targetModel: 'missing.tar.gz' }, {}],
      ['ModelError', { body: new TextEncoder().encode('x,y') }, {}],
    ];
    for (const type of ['ModelNotReadyException', 'InternalFailure', 'ServiceUnavailable', 'InternalDependencyException']) {
      cases.push([type, {}, { errorRates: { [type]: 1 } }]);
    }
    for (const [expected, overrides, faults] of cases) {
      await setFaults(faults);
      const { lean: l, sdk: s } = await both(params(overrides));
      assert.ok(!l.ok && !s.ok, expected);
      assert.equal(l.error.name, expected);
      assert.equal(s.error.name, expected);
      assert.equal(Object.getPrototypeOf(l.error), Object.getPrototypeOf(s.error), `${expected}: same class`);
      assert.equal((l.error['$metadata'] as { httpStatusCode: number }).httpStatusCode, (s.error['$metadata'] as { httpStatusCode: number }).httpStatusCode);
      assert.equal(l.error['OriginalStatusCode'], s.error['OriginalStatusCode']);
      assert.equal(l.error['OriginalMessage'], s.error['OriginalMessage']);
      assert.equal(l.error.message, s.error.message);
    }
    await setFaults({});
  });
});
