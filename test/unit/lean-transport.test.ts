import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ModelError, ModelNotReadyException, SageMakerRuntimeServiceException, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { createLeanTransport, regionalRuntimeUrl } from '../../src/invoke/lean-transport.js';
import { decodeError, sanitizeErrorType } from '../../src/sagemaker-wire.js';

describe('lean transport: error decoding (restJson1 rules)', () => {
  it('takes the type from x-amzn-ErrorType, dropping the namespace after ":"', () => {
    const error = decodeError(
      424,
      { 'x-amzn-errortype': 'ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/', 'x-amzn-requestid': 'r-1' },
      JSON.stringify({ Message: 'bad', OriginalStatusCode: 500, OriginalMessage: 'boom', LogStreamArn: 'arn:x' }),
    );
    assert.ok(error instanceof ModelError);
    assert.equal(error.OriginalStatusCode, 500);
    assert.equal(error.OriginalMessage, 'boom');
    assert.equal(error.message, 'bad');
    assert.equal(error.$metadata.requestId, 'r-1');
    assert.equal(error.$metadata.httpStatusCode, 424);
  });

  it('falls back to the body code / __type and keeps unknown types as service exceptions', () => {
    assert.ok(decodeError(429, {}, JSON.stringify({ __type: 'com.amazon#ModelNotReadyException', message: 'x' })) instanceof ModelNotReadyException);
    assert.ok(decodeError(400, {}, JSON.stringify({ code: 'ValidationError', message: 'x' })) instanceof ValidationError);
    const unknown = decodeError(403, { 'x-amzn-errortype': 'AccessDeniedException' }, '{"message":"no"}');
    assert.ok(unknown instanceof SageMakerRuntimeServiceException);
    assert.equal(unknown.name, 'AccessDeniedException');
    const html = decodeError(502, {}, '<html>bad gateway</html>');
    assert.equal(html.name, 'UnknownError');
    assert.equal((html as SageMakerRuntimeServiceException).$metadata.httpStatusCode, 502);
  });

  it('sanitizes error types like the SDK', () => {
    assert.equal(sanitizeErrorType('ModelError:http://x/'), 'ModelError');
    assert.equal(sanitizeErrorType('aws.protocoltests#FooError'), 'FooError');
    assert.equal(sanitizeErrorType('FooError,BarError'), 'FooError');
  });

  it('uses the regional runtime endpoint by default', () => {
    assert.equal(regionalRuntimeUrl('eu-west-1'), 'https://runtime.sagemaker.eu-west-1.amazonaws.com');
  });
});

describe('lean transport: the request on the wire', () => {
  let seen: { req: IncomingMessage; body: string } | undefined;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen = { req, body };
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'x-amzn-invoked-production-variant': 'AllTraffic',
        'x-amzn-sagemaker-custom-attributes': 'echo=1',
        'x-amzn-requestid': 'req-42',
      });
      res.end('0.25\n');
    });
  });
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('sends a SigV4-signed InvokeEndpoint with the SageMaker headers and reads the answer', async () => {
    const transport = createLeanTransport({
      region: 'us-east-1',
      endpointUrl: url,
      connectTimeoutMs: 1000,
      socketTimeoutMs: 5000,
      maxSockets: 4,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const output = await transport.invokeEndpoint(
      {
        endpoint: 'my-mme',
        targetModel: 'team/churn.tar.gz',
        body: new TextEncoder().encode('1,2,3'),
        contentType: 'text/csv',
        accept: 'text/csv',
        customAttributes: 'trace=1',
        inferenceId: 'inf-1',
        targetVariant: undefined,
      },
      new AbortController().signal,
    );
    transport.close();
    assert.equal(new TextDecoder().decode(output.body), '0.25\n');
    assert.equal(output.contentType, 'text/csv; charset=utf-8');
    assert.equal(output.invokedVariant, 'AllTraffic');
    assert.equal(output.customAttributes, 'echo=1');
    assert.equal(output.upstreamRequestId, 'req-42');
    assert.ok(seen);
    assert.equal(seen.req.method, 'POST');
    assert.equal(seen.req.url, '/endpoints/my-mme/invocations');
    assert.equal(seen.body, '1,2,3');
    assert.equal(seen.req.headers['x-amzn-sagemaker-target-model'], 'team/churn.tar.gz');
    assert.equal(seen.req.headers['x-amzn-sagemaker-custom-attributes'], 'trace=1');
    assert.equal(seen.req.headers['x-amzn-sagemaker-inference-id'], 'inf-1');
    assert.match(String(seen.req.headers['authorization']), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/sagemaker\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/);
    assert.match(String(seen.req.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
  });
});
