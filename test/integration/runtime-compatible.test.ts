/**
 * Acceptance for the SageMaker-compatible route: unchanged SageMaker clients (the AWS SDK for
 * JavaScript, Debian's boto3 and AWS CLI) pointed at the gateway by URL only get the same
 * predictions as the REST route and their usual exceptions for its errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';
import { invokeEndpoint, localRuntimeClient } from '../helpers/sdk-client.js';

const run = promisify(execFile);
const CHURN_ROW = '12,70.5,3,1,0,1';
/** Debian's builds, not whatever else is on PATH. */
const PYTHON = '/usr/bin/python3';
const AWS_CLI = '/usr/bin/aws';

describe('SageMaker Runtime wire-compatible route', () => {
  let gateway: RunningGateway;
  let client: SageMakerRuntimeClient;
  let restPrediction: string;
  let workDir: string;
  const awsEnv = () => ({
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: workDir,
    AWS_ACCESS_KEY_ID: 'caller-key-is-not-identity',
    AWS_SECRET_ACCESS_KEY: 'caller-secret',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  });

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wire-'));
    const catalog = join(workDir, 'catalog.yaml');
    writeFileSync(catalog, 'models:\n  flowers:\n    endpoint: botany-mme\n    targetModel: iris.tar.gz\n');
    gateway = await startGateway({ LOCAL_MME_LOAD_DELAY_MS: '50', MODEL_CATALOG: catalog });
    client = localRuntimeClient(gateway.url);
    const rest = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: CHURN_ROW });
    assert.equal(rest.status, 200);
    restPrediction = await rest.text();
  });
  after(async () => {
    client?.destroy();
    await gateway?.stop();
  });

  it('answers the AWS SDK for JavaScript like SageMaker, with the gateway headers added', async () => {
    const answer = await invokeEndpoint(client, {
      EndpointName: 'local-mme',
      TargetModel: 'churn.tar.gz',
      ContentType: 'text/csv',
      CustomAttributes: 'c000b4f9-df62-4c85-a0bf-7c525f9104a4',
      Body: CHURN_ROW,
    });
    assert.equal(answer.ok, true, answer.error?.message);
    assert.equal(answer.body, restPrediction);
    assert.equal(answer.variant, 'AllTraffic');
    assert.equal(answer.customAttributes, 'c000b4f9-df62-4c85-a0bf-7c525f9104a4');
    assert.match(answer.contentType ?? '', /^text\/csv/);

    const viaCatalog = await invokeEndpoint(client, { EndpointName: 'botany-mme', TargetModel: 'iris.tar.gz', ContentType: 'text/csv', Body: '5.1,3.5,1.4,0.2' });
    assert.equal(viaCatalog.ok, true, viaCatalog.error?.message);
    assert.equal(viaCatalog.body?.trim().split(',').length, 3, 'three class probabilities');
  });

  it('raises the SDK exceptions SageMaker would for the gateway errors', async () => {
    const call = (EndpointName: string, TargetModel: string | undefined, Body = CHURN_ROW) =>
      invokeEndpoint(client, { EndpointName, ContentType: 'text/csv', Body, ...(TargetModel ? { TargetModel } : {}) });

    const cases: Array<[string, string | undefined, string, string, number, string]> = [
      ['local-mme', '../etc/passwd', CHURN_ROW, 'ValidationError', 400, 'INVALID_TARGET_MODEL'],
      ['local-mme', undefined, CHURN_ROW, 'ValidationError', 400, 'INVALID_TARGET_MODEL'],
      ['other-mme', 'churn.tar.gz', CHURN_ROW, 'ValidationError', 400, 'ENDPOINT_NOT_ALLOWED'],
      ['local-mme', 'flowers.tar.gz', CHURN_ROW, 'ValidationError', 400, 'ENDPOINT_NOT_ALLOWED'],
      // No archive: SageMaker's own ValidationError on this route (the REST route answers 404 MODEL_NOT_FOUND).
      ['local-mme', 'missing.tar.gz', CHURN_ROW, 'ValidationError', 400, 'MODEL_NOT_FOUND'],
      ['local-mme', 'churn.tar.gz', 'a,b,c,d,e,f', 'ModelError', 424, 'MODEL_ERROR'],
    ];
    for (const [endpoint, target, body, name, status, code] of cases) {
      const outcome = await call(endpoint, target, body);
      assert.equal(outcome.errorName, name, `${endpoint} ${target}: ${outcome.error?.message}`);
      assert.equal(outcome.status, status);
      const response = (outcome.error as { $response?: { headers: Record<string, string> } } | undefined)?.$response;
      if (response) assert.equal(response.headers['x-gateway-error-code'], code);
    }
    const modelError = await call('local-mme', 'churn.tar.gz', 'a,b,c,d,e,f');
    assert.equal(modelError.error?.['OriginalStatusCode'], 400);

    const put = await fetch(`${gateway.localMmeUrl}/_local/faults`, {
      method: 'PUT',
      body: JSON.stringify({ models: { 'house-prices.tar.gz': { errorRates: { ServiceUnavailable: 1 } } } }),
    });
    assert.equal(put.status, 200);
    const unavailable = await call('local-mme', 'house-prices.tar.gz', '1,2,3,4,5');
    assert.equal(unavailable.errorName, 'ServiceUnavailable');
    assert.equal(unavailable.status, 503);
  });

  it('serves boto3 invoke_endpoint with endpoint_url and raises its ModelError', async () => {
    const script = `
import json, sys, boto3, botocore.config
c = boto3.client('sagemaker-runtime', endpoint_url=sys.argv[1], region_name='us-east-1',
                 config=botocore.config.Config(retries={'max_attempts': 0}))
r = c.invoke_endpoint(EndpointName='local-mme', TargetModel='churn.tar.gz', ContentType='text/csv', Body=sys.argv[2])
out = {'body': r['Body'].read().decode(), 'variant': r['InvokedProductionVariant'], 'type': r['ContentType']}
try:
    c.invoke_endpoint(EndpointName='local-mme', TargetModel='churn.tar.gz', ContentType='text/csv', Body='x,y')
except c.exceptions.ModelError as e:
    out['error'] = e.response['Error']['Code']
    out['original'] = e.response.get('OriginalStatusCode')
print(json.dumps(out))
`;
    const { stdout } = await run(PYTHON, ['-c', script, gateway.url, CHURN_ROW], { env: awsEnv(), timeout: 60_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(out['body'], restPrediction);
    assert.equal(out['variant'], 'AllTraffic');
    assert.match(String(out['type']), /^text\/csv/);
    assert.equal(out['error'], 'ModelError');
    assert.equal(out['original'], 400);
  });

  it('serves the AWS CLI invoke-endpoint command with --endpoint-url', async () => {
    const outFile = join(workDir, 'out.txt');
    // CLI v2 reads blobs as base64 unless told otherwise; v1 needs no flag.
    const { stdout } = await run(
      AWS_CLI,
      ['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', gateway.url, '--endpoint-name', 'local-mme', '--content-type', 'text/csv',
        '--target-model', 'churn.tar.gz', '--cli-binary-format', 'raw-in-base64-out', '--body', CHURN_ROW, outFile],
      { env: awsEnv(), timeout: 60_000 },
    );
    assert.equal(readFileSync(outFile, 'utf8'), restPrediction);
    assert.equal((JSON.parse(stdout) as Record<string, unknown>)['InvokedProductionVariant'], 'AllTraffic');

    const failed = await run(
      AWS_CLI,
      ['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', gateway.url, '--endpoint-name', 'other-mme', '--content-type', 'text/csv',
        '--target-model', 'churn.tar.gz', '--cli-binary-format', 'raw-in-base64-out', '--body', CHURN_ROW, outFile],
      { env: awsEnv(), timeout: 60_000 },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    assert.ok(failed, 'the CLI fails for an endpoint the catalog does not allow');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /ValidationError/);
  });
});
