/**
 * Process entry: configuration → dependencies → HTTP server; SIGTERM drains and exits.
 * A bad setting stops start-up with a message naming it (exit code 2).
 */
import { exitOnStartupFailure } from './config-error.js';
import { loadConfig } from './config.js';
import { createGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { createHttpServer, listen } from './server.js';
import { createShutdownController } from './shutdown.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  let shutdown: ReturnType<typeof createShutdownController> | undefined;
  const lifecycle = { isDraining: () => shutdown?.isDraining() ?? false };
  const gateway = await createGateway(config, logger, { env: process.env, lifecycle });
  const server = createHttpServer(gateway.app, config.server);
  shutdown = createShutdownController({
    server,
    logger,
    graceMs: config.shutdown.graceMs,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    closeResources: () => gateway.close(),
    exit: (code) => process.exit(code),
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown?.begin(signal));
  }

  const port = await listen(server, config.port, config.host);
  logger.info('listening', {
    port,
    host: config.host,
    defaultEndpoint: config.catalog.defaultEndpoint ?? null,
    runtimeUrl: gateway.runtimeUrl ?? `regional (${config.region})`,
    localMme: config.localMme,
    catalogPolicy: gateway.catalog.policy,
  });

  for (const name of config.preload) {
    gateway
      .preload(name)
      .then((result) => logger.info('preload: warm', { model: name, ...result }))
      .catch((error: unknown) => logger.warn('preload: failed', { model: name, error: (error as Error).message }));
  }
}

main().catch((error: unknown) => exitOnStartupFailure('mme-gateway', error));
