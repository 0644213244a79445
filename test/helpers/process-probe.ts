/**
 * Preloaded into a gateway process by tests (`--import`): on SIGUSR2 it prints one JSON line
 * saying which OpenTelemetry modules the process has loaded and which handles keep it alive
 * (process.getActiveResourcesInfo()), so a test can prove that tracing off costs nothing.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

process.on('SIGUSR2', () => {
  // OpenTelemetry's packages are CommonJS: loaded from ESM or not, they land in require.cache.
  const openTelemetryModules = Object.keys(require.cache).filter((path) => path.includes('@opentelemetry'));
  process.stdout.write(`${JSON.stringify({ message: 'process probe', openTelemetryModules, activeResources: process.getActiveResourcesInfo() })}\n`);
});
