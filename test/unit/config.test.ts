import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  it('defaults to the embedded local MME when no AWS endpoint settings are given', () => {
    const config = loadConfig({});
    assert.equal(config.localMme, true);
    assert.equal(config.port, 8080);
    assert.equal(config.catalog.defaultEndpoint, 'local-mme');
    assert.equal(config.upstream.socketTimeoutMs, 70_000);
    assert.equal(config.catalog.defaultColdStartBudgetMs, 360_000);
    assert.ok(config.server.keepAliveTimeoutMs > 60_000, 'keep-alive must outlast the ALB idle timeout');
    assert.ok(config.server.headersTimeoutMs > config.server.keepAliveTimeoutMs);
  });

  it('uses SageMaker when an endpoint is named, and then needs a region', () => {
    assert.throws(() => loadConfig({ SAGEMAKER_ENDPOINT_NAME: 'prod-mme' }), /AWS_REGION/);
    const config = loadConfig({ SAGEMAKER_ENDPOINT_NAME: 'prod-mme', AWS_REGION: 'eu-west-1' });
    assert.equal(config.localMme, false);
    assert.equal(config.region, 'eu-west-1');
  });

  it('turns tracing on only with an OTLP endpoint, unless OpenTelemetry is told to stay off', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    assert.deepEqual(loadConfig({}).tracing, { enabled: false, serviceName: 'mme-gateway' });
    assert.equal(loadConfig(endpoint).tracing.enabled, true);
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).tracing.enabled, true);
    assert.equal(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing.enabled, false);
    assert.equal(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled, false);
    assert.equal(loadConfig({ ...endpoint, OTEL_SERVICE_NAME: 'checkout-gateway' }).tracing.serviceName, 'checkout-gateway');
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT/],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL: only http\/json/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER/],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_ratio' }, /OTEL_TRACES_SAMPLER/],
    [{ OTEL_TRACES_SAMPLER_ARG: '5' }, /OTEL_TRACES_SAMPLER_ARG/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ LOCAL_MME: 'maybe' }, /LOCAL_MME/],
    [{ SAGEMAKER_ENDPOINT_NAME: 'bad_name!' }, /SAGEMAKER_ENDPOINT_NAME/],
    [{ SAGEMAKER_RUNTIME_URL: 'not a url' }, /SAGEMAKER_RUNTIME_URL/],
    [{ MAX_BODY_BYTES: String(6 * 1024 * 1024 + 1) }, /MAX_BODY_BYTES/],
    [{ KEEP_ALIVE_TIMEOUT_MS: '70000', HEADERS_TIMEOUT_MS: '60000' }, /HEADERS_TIMEOUT_MS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ];
  for (const [env, message] of bad) {
    it(`names the bad setting in ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }
});
