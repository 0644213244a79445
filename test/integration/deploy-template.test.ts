/**
 * The invariants of the ECS deployment that matter in production, checked on the real files:
 * the CloudFormation template (port, health checks that the app really serves, least-privilege
 * IAM, shutdown and keep-alive timings against the ALB), the Dockerfile and .dockerignore.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/server.js';
import { repoRoot } from '../helpers/gateway-process.js';
import { inProcessApp } from '../helpers/in-process-app.js';

// CloudFormation documents are loosely shaped; the assertions below are the type checks.
type Json = Record<string, any>;

const template = parseYaml(readFileSync(join(repoRoot, 'deploy/cloudformation/mme-gateway.yaml'), 'utf8')) as Json;
const resources = template['Resources'] as Record<string, { Type: string; Properties: Json }>;
const ofType = (type: string) => Object.values(resources).filter((resource) => resource.Type === type);
const container = ofType('AWS::ECS::TaskDefinition')[0]!.Properties['ContainerDefinitions'][0] as Json;

/** The container's environment (conditional entries included), as the task would see it. */
const taskEnv: Record<string, string> = Object.fromEntries(
  (container['Environment'] as Json[])
    .map((entry) => (entry['Fn::If'] ? entry['Fn::If'][1] : entry))
    .filter((entry) => typeof entry['Value'] === 'string')
    .map((entry) => [entry['Name'], entry['Value']]),
);
/** The gateway's configuration as ECS would start it (the AWS settings stand in for real ones). */
const taskConfig = loadConfig({ ...taskEnv, SAGEMAKER_ENDPOINT_NAME: 'prod-mme', AWS_REGION: 'eu-west-1' });

describe('ECS deployment invariants', () => {
  let app: Express;
  let close: () => Promise<void>;
  before(async () => {
    ({ app, close } = await inProcessApp({}));
  });
  after(async () => close());

  it('maps the container port to PORT', () => {
    const port = (container['PortMappings'] as Json[])[0]!['ContainerPort'];
    assert.equal(port, taskConfig.port);
    assert.equal(String(port), taskEnv['PORT']);
    assert.equal(ofType('AWS::ElasticLoadBalancingV2::TargetGroup')[0]!.Properties['Port'], port);
    assert.equal(ofType('AWS::ECS::Service')[0]!.Properties['LoadBalancers'][0]['ContainerPort'], port);
    const ingress = ofType('AWS::EC2::SecurityGroup')[0]!.Properties['SecurityGroupIngress'] as Json[];
    assert.deepEqual(ingress.map((rule) => [rule['FromPort'], rule['ToPort']]), [[port, port]]);
  });

  it('health-checks paths the app serves: /healthz for the container, /readyz for the ALB', async () => {
    const command = (container['HealthCheck']['Command'] as string[]).join(' ');
    const containerPath = /http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/.exec(command);
    assert.ok(containerPath, command);
    assert.equal(Number(containerPath[1]), taskConfig.port);
    assert.equal(containerPath[2], '/healthz');
    const albPath = ofType('AWS::ElasticLoadBalancingV2::TargetGroup')[0]!.Properties['HealthCheckPath'] as string;
    assert.equal(albPath, '/readyz');
    for (const path of [containerPath[2], albPath]) assert.equal((await request(app).get(path)).status, 200, path);
  });

  it('lets the task role do exactly sagemaker:InvokeEndpoint on endpoint ARNs', () => {
    const role = Object.entries(resources).find(([name]) => name === 'TaskRole')![1];
    const statements = (role.Properties['Policies'] as Json[]).flatMap((policy) => policy['PolicyDocument']['Statement'] as Json[]);
    assert.ok(statements.length >= 1);
    for (const statement of statements) {
      assert.equal(statement['Effect'], 'Allow');
      assert.deepEqual([statement['Action']].flat(), ['sagemaker:InvokeEndpoint']);
      const arns = [statement['Resource']].flat().map((entry: Json) => (entry['Fn::If'] ? entry['Fn::If'][1] : entry));
      for (const arn of arns) {
        const text = arn['Fn::Sub'] as string;
        assert.match(text, /^arn:\$\{AWS::Partition\}:sagemaker:\$\{AWS::Region\}:\$\{AWS::AccountId\}:endpoint\/\$\{\w+\}$/, JSON.stringify(arn));
      }
    }
    assert.ok(!JSON.stringify(role).includes('"*"'), 'no wildcard anywhere in the task role');
  });

  it('gives shutdown time to drain: stopTimeout and deregistration delay cover grace + drain', () => {
    const drainMs = taskConfig.shutdown.graceMs + taskConfig.shutdown.drainTimeoutMs;
    assert.ok(container['StopTimeout'] * 1000 >= drainMs, `StopTimeout ${container['StopTimeout']} s < ${drainMs} ms`);
    assert.ok(container['StopTimeout'] <= 120, 'Fargate caps stopTimeout at 120 s');
    const attributes = ofType('AWS::ElasticLoadBalancingV2::TargetGroup')[0]!.Properties['TargetGroupAttributes'] as Json[];
    const delay = Number(attributes.find((a) => a['Key'] === 'deregistration_delay.timeout_seconds')?.['Value']);
    assert.ok(delay * 1000 >= taskConfig.shutdown.drainTimeoutMs);
  });

  it('keeps connections open longer than the ALB, so the ALB never reuses a closed one', () => {
    const albIdleMs = Number(template['Parameters']['LoadBalancerIdleTimeoutSeconds']['Default']) * 1000;
    const server = createHttpServer(app, taskConfig.server);
    assert.ok(server.keepAliveTimeout > albIdleMs, `keepAliveTimeout ${server.keepAliveTimeout} ≤ ALB idle ${albIdleMs}`);
    assert.ok(server.headersTimeout > server.keepAliveTimeout);
    // The defaults hold the same relation when the task sets nothing.
    const defaults = loadConfig({ SAGEMAKER_ENDPOINT_NAME: 'prod-mme', AWS_REGION: 'eu-west-1' }).server;
    assert.ok(defaults.keepAliveTimeoutMs > 60_000 && defaults.headersTimeoutMs > defaults.keepAliveTimeoutMs);
  });

  it('builds a non-root, multi-stage image on a current LTS with the README start command', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const image of froms) assert.match(image, /^node:(22|24)[.-]/);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(finalStage, /^USER\s+(?!root\b)\w+/m, 'runs as a non-root user');
    assert.match(finalStage, /npm ci --omit=dev/);
    const cmd = JSON.parse(/^CMD\s+(\[.*\])$/m.exec(finalStage)![1]!) as string[];
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(cmd.join(' '), pkg.scripts['start'], 'the same start command as README (npm start)');
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'test', '.git', 'dist', '.tmp']) assert.ok(ignored.includes(entry), `.dockerignore keeps out ${entry}`);
  });
});
