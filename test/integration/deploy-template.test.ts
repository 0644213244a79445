/**
 * The invariants of the ECS deployment that matter in production, checked on the real files:
 * the CloudFormation template (port, health checks that the app really serves, the API routed
 * through the ALB, least-privilege IAM, shutdown and keep-alive timings against the ALB), the
 * Dockerfile and .dockerignore.
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
import { buildContextFilter, readDockerfile } from '../helpers/dockerfile.js';
import { repoRoot } from '../helpers/gateway-process.js';
import { inProcessApp } from '../helpers/in-process-app.js';

// CloudFormation documents are loosely shaped; the assertions below are the type checks.
type Json = Record<string, any>;

const readJsonYaml = (path: string) => parseYaml(readFileSync(join(repoRoot, path), 'utf8')) as Json;
const template = readJsonYaml('deploy/cloudformation/mme-gateway.yaml');
const resources = template['Resources'] as Record<string, { Type: string; Condition?: string; Properties: Json }>;
const ofType = (type: string) => Object.values(resources).filter((resource) => resource.Type === type);
const only = (type: string) => {
  const found = ofType(type);
  assert.equal(found.length, 1, type);
  return found[0]!.Properties;
};
/** The value of `Fn::If` when its condition holds (optional settings switched on). */
const whenSet = (value: Json): Json => (value['Fn::If'] ? value['Fn::If'][1] : value);

const container = only('AWS::ECS::TaskDefinition')['ContainerDefinitions'][0] as Json;
const targetGroup = only('AWS::ElasticLoadBalancingV2::TargetGroup');

/** The container's environment (conditional entries included), as the task would see it. */
const taskEnv: Record<string, string> = Object.fromEntries(
  (container['Environment'] as Json[])
    .map(whenSet)
    .filter((entry) => typeof entry['Value'] === 'string')
    .map((entry) => [entry['Name'], entry['Value']]),
);
// The AWS settings are parameters (Ref); real-looking values stand in for them.
const awsStandIns = { SAGEMAKER_ENDPOINT_NAME: 'prod-mme', AWS_REGION: 'eu-west-1' };
/** The gateway's configuration as ECS starts it; settings the task leaves out take their defaults. */
const taskConfig = loadConfig({ ...taskEnv, ...awsStandIns });

describe('ECS deployment invariants', () => {
  let app: Express;
  let close: () => Promise<void>;
  before(async () => {
    ({ app, close } = await inProcessApp({}));
  });
  after(async () => close());

  it('maps the container port to PORT everywhere it is used', () => {
    const port = (container['PortMappings'] as Json[])[0]!['ContainerPort'];
    assert.equal(String(port), taskEnv['PORT']);
    assert.equal(port, taskConfig.port);
    assert.equal(port, loadConfig(awsStandIns).port, 'the default PORT, so the image also runs without PORT set');
    assert.equal(targetGroup['Port'], port);
    assert.equal(only('AWS::ECS::Service')['LoadBalancers'][0]['ContainerPort'], port);
    const runtime = readDockerfile().at(-1)!;
    assert.deepEqual(runtime.instructions.filter((i) => i.op === 'EXPOSE').map((i) => Number(i.args)), [port]);
  });

  it('lets only security groups reach the container, and only on its port', () => {
    const port = taskEnv['PORT'];
    const inline = only('AWS::EC2::SecurityGroup')['SecurityGroupIngress'] as Json[];
    const extra = ofType('AWS::EC2::SecurityGroupIngress').map((resource) => resource.Properties);
    assert.equal(inline.length, 1);
    assert.deepEqual(inline[0]!['SourceSecurityGroupId'], { Ref: 'LoadBalancerSecurityGroupId' });
    for (const rule of [...inline, ...extra]) {
      assert.deepEqual([String(rule['FromPort']), String(rule['ToPort'])], [port, port]);
      assert.ok(rule['SourceSecurityGroupId'] && !rule['CidrIp'] && !rule['CidrIpv6'], JSON.stringify(rule));
    }
    for (const resource of ofType('AWS::EC2::SecurityGroupIngress')) assert.ok(resource.Condition, 'extra ingress is opt-in');
  });

  it('health-checks paths the app serves: /healthz for the container, /readyz for the ALB', async () => {
    const command = (container['HealthCheck']['Command'] as string[]).join(' ');
    const containerCheck = /http:\/\/127\.0\.0\.1:(\d+)(\/\w+)/.exec(command);
    assert.ok(containerCheck, command);
    assert.match(command, /^CMD node /, 'node, as the slim image has no curl');
    assert.equal(Number(containerCheck[1]), taskConfig.port);
    assert.equal(containerCheck[2], '/healthz');
    const albPath = targetGroup['HealthCheckPath'] as string;
    assert.equal(albPath, '/readyz');
    for (const path of [containerCheck[2], albPath]) assert.equal((await request(app).get(path)).status, 200, path);
  });

  it('routes the whole API through the ALB listener rule, but not /metrics or the probes', async () => {
    const rule = only('AWS::ElasticLoadBalancingV2::ListenerRule');
    const patterns = (rule['Conditions'] as Json[]).flatMap((condition) => condition['PathPatternConfig']['Values'] as string[]);
    // ALB path patterns: case-sensitive, `*` any run of characters, `?` exactly one.
    const albMatches = (path: string) =>
      patterns.some((pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(path));
    const spec = readJsonYaml('openapi.yaml');
    const internal = new Set(['/metrics', '/healthz', '/readyz']);
    const apiPaths = Object.keys(spec['paths'] as Json).filter((path) => !internal.has(path));
    assert.ok(apiPaths.length >= 5, 'the spec lists the API');
    for (const path of apiPaths) assert.ok(albMatches(path.replace(/\{\w+\}/g, 'churn')), `${path} is reachable through the ALB`);
    for (const path of internal) assert.ok(!albMatches(path), `${path} stays inside the VPC`);
    // The concrete paths are the app's real routes: a prediction through the rule's pattern works.
    const response = await request(app).post('/models/churn/predict').set('content-type', 'text/csv').send('12,70.5,3,1,0,1');
    assert.equal(response.status, 200);
  });

  it('lets the task role do exactly sagemaker:InvokeEndpoint on endpoint ARNs, nothing else', () => {
    const role = resources['TaskRole']!;
    assert.equal(role.Type, 'AWS::IAM::Role');
    assert.equal(role.Properties['ManagedPolicyArns'], undefined, 'no managed policies on the task role');
    assert.deepEqual(only('AWS::ECS::TaskDefinition')['TaskRoleArn'], { 'Fn::GetAtt': ['TaskRole', 'Arn'] });
    // Unconditional policies only: the tracing sidecar's is checked with the tracing invariants.
    const policies = (role.Properties['Policies'] as Json[]).filter((policy) => !policy['Fn::If']);
    const statements = policies.flatMap((policy) => policy['PolicyDocument']['Statement'] as Json[]);
    assert.equal(statements.length, 1);
    const [statement] = statements as [Json];
    assert.equal(statement['Effect'], 'Allow');
    assert.deepEqual([statement['Action']].flat(), ['sagemaker:InvokeEndpoint']);
    const arns = [statement['Resource']].flat().map(whenSet);
    assert.ok(arns.length >= 1);
    const endpointParameters = arns.map((arn) => {
      const match = /^arn:\$\{AWS::Partition\}:sagemaker:\$\{AWS::Region\}:\$\{AWS::AccountId\}:endpoint\/\$\{(\w+)\}$/.exec(arn['Fn::Sub']);
      assert.ok(match, JSON.stringify(arn));
      return match[1]!;
    });
    // Every ARN names an endpoint parameter that only admits lowercase names: IAM compares ARNs
    // case-sensitively and SageMaker writes endpoint ARNs in lowercase.
    for (const name of endpointParameters) {
      const pattern = new RegExp(template['Parameters'][name]['AllowedPattern']);
      assert.ok(pattern.test('prod-mme') && !pattern.test('Prod-MME') && !pattern.test('*'), name);
    }
    assert.ok(endpointParameters.includes('EndpointName'), 'the default endpoint is allowed');
    assert.deepEqual(whenSet(container['Environment'].find((e: Json) => e['Name'] === 'SAGEMAKER_ENDPOINT_NAME')), {
      Name: 'SAGEMAKER_ENDPOINT_NAME',
      Value: { Ref: 'EndpointName' },
    });
    assert.ok(!JSON.stringify(policies).includes('*'), 'no wildcard in what the task role always allows');
    assert.ok(!JSON.stringify(resources['ExecutionRole']).includes('sagemaker'), 'the execution role cannot call SageMaker');
  });

  it('leaves tracing off by default; every tracing piece hangs on the Tracing parameter', () => {
    const parameters = template['Parameters'] as Json;
    assert.equal(parameters['Tracing']['Default'], 'off');
    assert.deepEqual(parameters['Tracing']['AllowedValues'], ['off', 'adot-sidecar', 'collector']);
    assert.deepEqual(template['Conditions']['TracingOn'], { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Tracing' }, 'off'] }] });
    assert.deepEqual(template['Conditions']['HasAdotSidecar'], { 'Fn::Equals': [{ Ref: 'Tracing' }, 'adot-sidecar'] });
    const otelEntries = (container['Environment'] as Json[]).filter((entry) => JSON.stringify(entry).includes('OTEL_'));
    assert.deepEqual(
      otelEntries.map((entry) => [entry['Fn::If']?.[0], entry['Fn::If']?.[2]]),
      otelEntries.map(() => ['TracingOn', { Ref: 'AWS::NoValue' }]),
      'no OTEL_ variable reaches the task with tracing off',
    );
    // With tracing off the task's configuration has tracing off (its settings are only defaults).
    assert.equal(loadConfig({ ...awsStandIns, PORT: '8080', LOCAL_MME: 'off' }).tracing.enabled, false);
    const containers = only('AWS::ECS::TaskDefinition')['ContainerDefinitions'] as Json[];
    assert.equal(containers.length, 2);
    assert.equal(containers[1]!['Fn::If'][0], 'HasAdotSidecar');
    assert.deepEqual(containers[1]!['Fn::If'][2], { Ref: 'AWS::NoValue' });
    assert.equal(template['Rules']['CollectorNeedsEndpoint']['RuleCondition']['Fn::Equals'][1], 'collector', 'collector mode refuses an empty endpoint');
  });

  it('with tracing on, the task exports over OTLP/HTTP to the sidecar or the named collector, parent-based sampled', () => {
    const endpoint = whenSet(container['Environment'].find((e: Json) => JSON.stringify(e).includes('OTEL_EXPORTER_OTLP_ENDPOINT')));
    const [, sidecarUrl, collectorUrl] = endpoint['Value']['Fn::If'] as [string, string, Json];
    assert.deepEqual(collectorUrl, { Ref: 'TracingCollectorEndpoint' });
    // The configuration the task starts with when tracing is on: valid, and tracing enabled.
    const tracedConfig = loadConfig({ ...taskEnv, ...awsStandIns, OTEL_EXPORTER_OTLP_ENDPOINT: sidecarUrl, OTEL_TRACES_SAMPLER_ARG: '0.05' });
    assert.equal(tracedConfig.tracing.enabled, true);
    assert.equal(taskEnv['OTEL_TRACES_SAMPLER'], 'parentbased_traceidratio');
    const ratio = template['Parameters']['TracingSampleRatio'] as Json;
    assert.deepEqual([ratio['MinValue'], ratio['MaxValue']], [0, 1]);

    // The sidecar listens on exactly the address the gateway sends to, for traces only.
    const sidecar = whenSet((only('AWS::ECS::TaskDefinition')['ContainerDefinitions'] as Json[])[1]!);
    assert.equal(sidecar['Essential'], false, 'a collector that stops never stops the gateway');
    const collectorConfig = parseYaml(sidecar['Environment'].find((e: Json) => e['Name'] === 'AOT_CONFIG_CONTENT')['Value']) as Json;
    assert.equal(`http://${collectorConfig['receivers']['otlp']['protocols']['http']['endpoint']}`, sidecarUrl);
    assert.equal(collectorConfig['receivers']['otlp']['protocols']['grpc'], undefined);
    assert.deepEqual(Object.keys(collectorConfig['service']['pipelines']), ['traces']);
    assert.deepEqual(collectorConfig['service']['pipelines']['traces']['exporters'], ['awsxray']);

    // ...and may write traces to X-Ray, nothing more (X-Ray has no resource-level permissions).
    const tracePolicy = (resources['TaskRole']!.Properties['Policies'] as Json[]).find((policy) => policy['Fn::If']?.[0] === 'HasAdotSidecar');
    const statements = tracePolicy!['Fn::If'][1]['PolicyDocument']['Statement'] as Json[];
    assert.deepEqual(statements.map((statement) => [statement['Effect'], [statement['Action']].flat().sort()]), [['Allow', ['xray:PutTelemetryRecords', 'xray:PutTraceSegments']]]);
  });

  it('gives shutdown time to drain: stopTimeout and deregistration delay cover grace + drain', () => {
    const { graceMs, drainTimeoutMs } = taskConfig.shutdown;
    assert.equal(taskEnv['DRAIN_TIMEOUT_MS'], String(drainTimeoutMs), 'the task sets the drain explicitly');
    const stopTimeout = container['StopTimeout'] as number;
    assert.ok(stopTimeout * 1000 >= graceMs + drainTimeoutMs, `StopTimeout ${stopTimeout} s < ${graceMs} + ${drainTimeoutMs} ms`);
    assert.ok(stopTimeout <= 120, 'Fargate caps stopTimeout at 120 s');
    const attributes = targetGroup['TargetGroupAttributes'] as Json[];
    const delay = Number(attributes.find((a) => a['Key'] === 'deregistration_delay.timeout_seconds')?.['Value']);
    assert.ok(delay * 1000 >= graceMs + drainTimeoutMs, `deregistration delay ${delay} s < ${graceMs} + ${drainTimeoutMs} ms`);
  });

  it('keeps connections open longer than the ALB, so the ALB never reuses a closed one', () => {
    const idle = template['Parameters']['LoadBalancerIdleTimeoutSeconds'] as Json;
    // The largest idle timeout the stack accepts, not just the ALB's default of 60 s.
    const albIdleMs = Math.max(Number(idle['Default']), Number(idle['MaxValue'])) * 1000;
    assert.equal(Number(idle['Default']), 60, 'the ALB default');
    for (const config of [taskConfig, loadConfig(awsStandIns)]) {
      const server = createHttpServer(app, config.server);
      assert.ok(server.keepAliveTimeout > albIdleMs, `keepAliveTimeout ${server.keepAliveTimeout} ≤ ALB idle ${albIdleMs}`);
      assert.ok(server.headersTimeout > server.keepAliveTimeout, `headersTimeout ${server.headersTimeout}`);
    }
    assert.equal(taskEnv['KEEP_ALIVE_TIMEOUT_MS'], String(taskConfig.server.keepAliveTimeoutMs));
  });

  it('builds a non-root, multi-stage image on a current LTS with the README start command', () => {
    const stages = readDockerfile();
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const stage of stages) assert.match(stage.base, /^node:(22|24)([.-]|$)/, stage.name);
    const runtime = stages.at(-1)!;
    const args = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);
    const users = args('USER');
    assert.ok(users.length >= 1 && !/^(root|0)(:|$)/.test(users.at(-1)!), `runs as a non-root user: ${users.at(-1)}`);
    assert.ok(args('RUN').some((command) => /\bnpm ci\b.*--omit=dev/.test(command)), 'production dependencies only');
    assert.deepEqual(args('STOPSIGNAL'), ['SIGTERM']);
    const cmd = JSON.parse(args('CMD').at(-1)!) as string[];
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(cmd.join(' '), 'node dist/main.js');
    assert.equal(cmd.join(' '), pkg.scripts['start'], 'the same start command as README (npm start)');
  });

  it('keeps tests, node_modules and local artifacts out of the build context, but nothing the image copies', () => {
    const reachesBuild = buildContextFilter();
    for (const path of ['node_modules/express/package.json', 'test/unit/config.test.ts', '.git/HEAD', 'dist/main.js', '.tmp/notes', 'README.md']) {
      assert.ok(!reachesBuild(path), `.dockerignore keeps out ${path}`);
    }
    const copied = readDockerfile()
      .flatMap((stage) => stage.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.ok(copied.includes('src') && copied.includes('models') && copied.includes('openapi.yaml'));
    for (const source of copied) assert.ok(reachesBuild(source), `${source} reaches the build`);
    for (const path of ['src/main.ts', 'models/churn.tar.gz', 'models/README.md']) assert.ok(reachesBuild(path), path);
  });
});
