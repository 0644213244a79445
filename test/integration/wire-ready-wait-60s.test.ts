/**
 * SageMaker's 60-second contract at its real values, once (the short-setting cases are in
 * wire-ready-wait.test.ts): a model that loads in 65 s, the gateway's default ready wait, and
 * Debian's boto3 as users run it. With boto3's defaults (60 s read timeout) and retries off, the
 * caller gets ModelNotReadyException before its read timeout, as from SageMaker, not a
 * ReadTimeoutError; with the advised configuration (70 s read timeout, retries on) it gets the
 * prediction, its retry joining the load; a REST caller keeps the full cold-start budget.
 * About 66 s: the suite's one long test, running beside the others.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { type RunningGateway, startGateway } from '../helpers/gateway-process.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3'; // Debian's boto3, not whatever else is on PATH
const CHURN_ROW = '12,70.5,3,1,0,1';
const LOAD_DELAY_MS = 65_000;

/** One invoke_endpoint with the given botocore Config; prints what happened and when. */
const BOTO3_CALL = `
import json, sys, time, boto3, botocore.config, botocore.exceptions
config = botocore.config.Config(**json.loads(sys.argv[2]))
c = boto3.client('sagemaker-runtime', endpoint_url=sys.argv[1], region_name='us-east-1', config=config)
started = time.monotonic()
try:
    r = c.invoke_endpoint(EndpointName='local-mme', TargetModel='sixty-five.tar.gz', ContentType='text/csv', Body=sys.argv[3])
    out = {'outcome': 'prediction', 'body': r['Body'].read().decode(), 'retries': r['ResponseMetadata'].get('RetryAttempts')}
except c.exceptions.ModelNotReadyException as e:
    out = {'outcome': 'ModelNotReadyException', 'retries': e.response['ResponseMetadata'].get('RetryAttempts')}
except botocore.exceptions.ReadTimeoutError:
    out = {'outcome': 'ReadTimeoutError'}
out['seconds'] = time.monotonic() - started
out['read_timeout'] = c.meta.config.read_timeout
print(json.dumps(out))
`;

interface Boto3Outcome {
  outcome: string;
  seconds: number;
  retries?: number;
  body?: string;
  read_timeout: number;
}

describe("wire route: SageMaker's 60 s contract at its real values, with boto3", () => {
  let gateway: RunningGateway;
  let workDir: string;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wire-60s-'));
    copyFileSync(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'), join(workDir, 'sixty-five.tar.gz'));
    // Default WIRE_READY_WAIT_MS, COLD_START_BUDGET_S and LOCAL_MME_READY_WAIT_MS (60 s, as SageMaker).
    gateway = await startGateway({
      LOCAL_MME_MODEL_DIR: workDir,
      LOCAL_MME_FAULTS: JSON.stringify({ models: { 'sixty-five.tar.gz': { loadDelayMs: LOAD_DELAY_MS } } }),
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('gives default boto3 ModelNotReadyException within 60 s and advised boto3 the prediction; REST waits for the load', async () => {
    const env = {
      PATH: '/usr/bin:/bin',
      HOME: workDir,
      AWS_ACCESS_KEY_ID: 'caller-key-is-not-identity',
      AWS_SECRET_ACCESS_KEY: 'caller-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const boto3 = async (config: Record<string, unknown>) => {
      const { stdout } = await run(PYTHON, ['-c', BOTO3_CALL, gateway.url, JSON.stringify(config), CHURN_ROW], { env, timeout: 120_000 });
      return JSON.parse(stdout) as Boto3Outcome;
    };
    const restStartedAt = Date.now();
    const rest = fetch(`${gateway.url}/models/sixty-five/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: CHURN_ROW }).then(
      async (response) => ({ status: response.status, body: await response.text(), seconds: (Date.now() - restStartedAt) / 1000 }),
    );
    const [byDefault, advised, restAnswer] = await Promise.all([
      // boto3's defaults, retries off so the first answer is seen.
      boto3({ retries: { max_attempts: 0 } }),
      // The advice for SageMaker MMEs: read timeout above SageMaker's 60 s, retries on. boto3's
      // legacy mode (its default) retries a 429; its standard mode would not.
      boto3({ read_timeout: 70, retries: { mode: 'legacy', max_attempts: 4 } }),
      rest,
    ]);
    console.log(`# boto3 default: ${JSON.stringify(byDefault)}`);
    console.log(`# boto3 advised: ${JSON.stringify({ ...advised, body: undefined })}`);
    console.log(`# REST: ${restAnswer.status} after ${restAnswer.seconds} s`);

    assert.equal(byDefault.read_timeout, 60, "boto3's default read timeout");
    assert.equal(byDefault.outcome, 'ModelNotReadyException');
    assert.ok(byDefault.seconds < 60, `before boto3's read timeout (${byDefault.seconds} s)`);

    assert.equal(advised.outcome, 'prediction');
    assert.ok((advised.retries ?? 0) >= 1, 'the prediction came on a retry that joined the load');
    assert.equal(restAnswer.status, 200, restAnswer.body);
    assert.ok(restAnswer.seconds >= 60, `REST keeps its full cold-start budget (${restAnswer.seconds} s)`);
    assert.equal(advised.body, restAnswer.body);

    const stats = (await (await fetch(`${gateway.localMmeUrl}/_local/stats`)).json()) as { models: Record<string, { loads: number }> };
    assert.equal(stats.models['sixty-five.tar.gz']?.loads, 1, 'one load for everyone');
  });
});
