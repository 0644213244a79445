/**
 * `npm run local-mme`: the local SageMaker multi-model endpoint on its own, for pointing a
 * gateway (SAGEMAKER_RUNTIME_URL), boto3 or the AWS CLI at it. Settings: LOCAL_MME_* (config.ts).
 */
import { exitOnStartupFailure } from '../config-error.js';
import { createLogger } from '../logger.js';
import { parseLocalMmeConfig } from './config.js';
import { createLocalMme } from './server.js';

async function main(): Promise<void> {
  const config = parseLocalMmeConfig(process.env);
  const logger = createLogger(process.env['LOG_LEVEL'] ?? 'info').child({ component: 'local-mme' });
  const localMme = createLocalMme({ config, logger });
  const { url, port } = await localMme.listen();
  logger.info('local MME listening', { url, port, modelDir: config.modelDir, loadDelayMs: config.loadDelayMs });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('local MME stopping', { signal });
      void localMme.close().then(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => exitOnStartupFailure('local-mme', error));
