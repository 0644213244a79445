/**
 * Composition root: builds every dependency of the app from the configuration (transport,
 * catalog, breakers, cold-start gate, invoker, metrics) and, when configured, starts the
 * embedded local MME the gateway then points at. main.ts and the tests both use it.
 */
import { performance } from 'node:perf_hooks';
import type { Express } from 'express';
import { loadApiKeys } from './access-control.js';
import { createApp } from './app.js';
import { ModelCatalog, loadCatalogFile } from './catalog.js';
import type { GatewayConfig } from './config.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import type { Lifecycle } from './http/health.js';
import { BreakerRegistry } from './invoke/breakers.js';
import { ColdStartGate } from './invoke/cold-start-gate.js';
import { Invoker, newTrace } from './invoke/invoker.js';
import { warmUp } from './invoke/warmup.js';
import { ModelStateStore, endpointOfKey } from './invoke/model-state.js';
import { createLeanTransport } from './invoke/lean-transport.js';
import { createSdkTransport } from './invoke/sdk-transport.js';
import { createTransportRouter } from './invoke/transport-router.js';
import { catalogKeepWarm } from './invoke/keep-warm-targets.js';
import { recognizeScaleFromZero } from './invoke/scale-from-zero.js';
import { systemClock } from './invoke/retry-policy.js';
import type { UpstreamTransport } from './invoke/transport.js';
import { type Tracing, loadTracing, passThrough } from './tracing/load.js';

export interface Gateway {
  app: Express;
  catalog: ModelCatalog;
  invoker: Invoker;
  metrics: GatewayMetrics;
  /** The runtime URL the gateway calls (the local MME's when embedded). */
  runtimeUrl: string | undefined;
  /** Warms one model (MODEL_PRELOAD); resolves with the container's answer. */
  preload(name: string): Promise<{ containerAnswer: string; start: string; attempts: number }>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  env?: NodeJS.ProcessEnv;
  lifecycle: Lifecycle;
  /** Replaces the SDK transport (unit tests of one function only). */
  transport?: UpstreamTransport;
}

/** The local MME does not check SigV4; the SDK still insists on signing with something. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local-mme', secretAccessKey: 'local-mme-does-not-check-signatures' };

export async function createGateway(config: GatewayConfig, logger: Logger, options: GatewayOptions): Promise<Gateway> {
  // Every configuration source is read and validated before any server starts, so a bad
  // setting stops start-up (ConfigError) without leaving a half-started local MME behind.
  const catalog = new ModelCatalog(loadCatalogFile(config.catalogPath), config.catalog);
  const auth = {
    keys: loadApiKeys(config.apiKeys.inline, config.apiKeys.file),
    metricsRequireKey: config.apiKeys.metricsRequireKey,
  };
  // Loaded only when used: a production task calling SageMaker never loads the local MME.
  const localMmeConfig = config.localMme
    ? (await import('./local-mme/config.js')).parseLocalMmeConfig(options.env ?? process.env)
    : undefined;

  let runtimeUrl = config.runtimeUrl;
  let closeLocalMme = async () => {};
  if (localMmeConfig) {
    const { createLocalMme } = await import('./local-mme/server.js');
    const localMme = createLocalMme({ config: localMmeConfig, logger: logger.child({ component: 'local-mme' }) });
    const { url } = await localMme.listen();
    runtimeUrl = url;
    closeLocalMme = () => localMme.close();
    logger.info('embedded local MME started', { url });
  }

  // Off: nothing of OpenTelemetry is loaded and every interceptor passes its component through.
  const tracing: Tracing | undefined = await loadTracing(config.tracing, logger);
  const intercept = tracing?.intercept ?? passThrough;
  const metrics = new GatewayMetrics(config.metrics.maxModelLabels, { exemplars: tracing?.exemplar });
  // Catalog models claim their metric labels first, so the cap only ever folds ad-hoc names.
  for (const model of catalog.listedModels()) metrics.modelLabel(model.name);

  const transportOptions = {
    region: config.region,
    endpointUrl: runtimeUrl,
    connectTimeoutMs: config.upstream.connectTimeoutMs,
    socketTimeoutMs: config.upstream.socketTimeoutMs,
    maxSockets: config.upstream.maxSockets,
    ...(config.localMme ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
  const createTransport = config.upstream.transport === 'sdk' ? createSdkTransport : createLeanTransport;
  const upstreams = catalog.listedModels().flatMap((model) => model.targets.map((target) => target.upstream));
  const routed =
    options.transport ??
    createTransportRouter(upstreams, (ref) =>
      createTransport({
        ...transportOptions,
        region: ref.region ?? transportOptions.region,
        endpointUrl: ref.runtimeUrl ?? (ref.region ? undefined : transportOptions.endpointUrl),
        ...(ref.credentialsProfile ? { credentials: undefined, credentialsProfile: ref.credentialsProfile } : {}),
      }),
    );
  const transport = intercept.transport(recognizeScaleFromZero(routed, config.noCapacityPattern));
  const breakers = intercept.breakers(new BreakerRegistry(config.breakers, metrics));
  const states = new ModelStateStore(config.modelStateMax);
  const gate = intercept.gate(
    new ColdStartGate({
      ...config.gate,
      onDepthChange: (key, delta) => metrics.coldQueueDepth.inc({ endpoint: endpointOfKey(key) }, delta),
    }),
    states,
  );
  const invoker = intercept.invoker(new Invoker({
    transport,
    breakers,
    gate,
    states,
    metrics,
    clock: intercept.clock(systemClock),
    settings: config.invoker,
  }));

  const keepWarm = catalogKeepWarm({
    models: catalog.listedModels(),
    invokeTarget: invoker.invokeTarget,
    states,
    breakers,
    metrics,
    maxPerSecond: config.keepWarm.maxPerSecond,
  });
  keepWarm.start();

  if (!auth.keys) logger.warn('access control is off: no API_KEYS or API_KEYS_FILE configured');
  const app = createApp({
    catalog,
    invoker,
    metrics,
    logger,
    lifecycle: options.lifecycle,
    body: { maxBodyBytes: config.maxBodyBytes, receiveTimeoutMs: config.server.requestReceiveTimeoutMs },
    wireReadyWaitMs: config.wireReadyWaitMs,
    auth,
    ...(tracing ? { tracingStep: tracing.serverSpan } : {}),
  });
  return {
    app,
    catalog,
    invoker,
    metrics,
    runtimeUrl,
    async preload(name) {
      const model = catalog.resolve(name);
      const trace = newTrace();
      const containerAnswer = await warmUp(model, undefined, (input) =>
        invoker.invoke({ model, input, callerTimeoutMs: undefined, receivedAt: performance.now() }, trace),
      );
      return { containerAnswer, start: trace.modelStart, attempts: trace.attempts };
    },
    async close() {
      await keepWarm.stop();
      breakers.shutdown();
      transport.close();
      await closeLocalMme();
      // Last: the spans of the requests that just drained are still in the queue.
      await tracing?.shutdown();
    },
  };
}
