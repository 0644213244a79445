/**
 * A bad setting from any configuration source (the environment, MODEL_CATALOG,
 * API_KEYS/API_KEYS_FILE, LOCAL_MME_*) stops the real process before any server starts: exit
 * code 2, one JSON line on stderr naming the setting, no stack trace, nothing listening.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cleanEnv, repoRoot } from '../helpers/gateway-process.js';

const dir = mkdtempSync(join(tmpdir(), 'startup-errors-'));
const badCatalog = join(dir, 'catalog.yaml');
writeFileSync(badCatalog, 'models:\n  fraud:\n    targetModel: ../escape.tar.gz\n');
const badKeysFile = join(dir, 'keys.yaml');
writeFileSync(badKeysFile, 'keys:\n  - id: billing\n    sha256: not-a-hash\n');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function runUntilExit(entry: string, env: Record<string, string>): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { ...cleanEnv(), PORT: '0', HOST: '127.0.0.1', LOCAL_MME_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000); // a process that starts is a failure
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

function assertConfigExit(exit: Exit, setting: string): void {
  assert.equal(exit.code, 2, `exit code; stderr: ${exit.stderr}`);
  const lines = exit.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${exit.stderr}`);
  const record = JSON.parse(lines[0]!) as { level: string; message: string };
  assert.equal(record.level, 'error');
  assert.match(record.message, new RegExp(`\\b${setting}\\b`), 'the message names the setting');
  assert.doesNotMatch(exit.stderr, /\bat .+:\d+:\d+|ConfigError|start-up failed/, 'no stack trace');
  // Nothing started: neither the gateway nor the embedded local MME logged that it listens.
  assert.doesNotMatch(exit.stdout, /listening|local MME started/);
}

const gatewayCases: Array<[string, Record<string, string>, string]> = [
  ['environment', { PORT: 'eighty' }, 'PORT'],
  ['environment, cross-checked', { LOCAL_MME: 'off', SAGEMAKER_ENDPOINT_NAME: 'prod-mme' }, 'AWS_REGION'],
  ['MODEL_CATALOG missing', { MODEL_CATALOG: join(dir, 'absent.yaml') }, 'MODEL_CATALOG'],
  ['MODEL_CATALOG invalid', { MODEL_CATALOG: badCatalog }, 'MODEL_CATALOG'],
  ['catalog default rule without an endpoint', { LOCAL_MME: 'off', AWS_REGION: 'eu-west-1', SAGEMAKER_RUNTIME_URL: 'http://127.0.0.1:9' }, 'SAGEMAKER_ENDPOINT_NAME'],
  ['API_KEYS not YAML', { API_KEYS: 'keys: [unclosed' }, 'API_KEYS'],
  ['API_KEYS invalid', { API_KEYS: '{"keys":[{"id":"x","sha256":"plain-secret"}]}' }, 'API_KEYS'],
  ['API_KEYS_FILE missing', { API_KEYS_FILE: join(dir, 'absent-keys.yaml') }, 'API_KEYS_FILE'],
  ['API_KEYS_FILE invalid', { API_KEYS_FILE: badKeysFile }, 'API_KEYS_FILE'],
  ['LOCAL_MME_* number', { LOCAL_MME_LOAD_DELAY_MS: '-5' }, 'LOCAL_MME_LOAD_DELAY_MS'],
  ['LOCAL_MME_FAULTS not JSON', { LOCAL_MME_FAULTS: '{oops' }, 'LOCAL_MME_FAULTS'],
  ['LOCAL_MME_FAULTS invalid', { LOCAL_MME_FAULTS: '{"errorRates":{"ModelError":2}}' }, 'LOCAL_MME_FAULTS'],
  ['LOCAL_MME_INFERENCE_COMPONENTS malformed', { LOCAL_MME_INFERENCE_COMPONENTS: 'no-archive' }, 'LOCAL_MME_INFERENCE_COMPONENTS'],
  ['LOCAL_MME_INFERENCE_COMPONENTS escaping the model directory', { LOCAL_MME_INFERENCE_COMPONENTS: 'ic-a=../../etc/passwd' }, 'LOCAL_MME_INFERENCE_COMPONENTS'],
  ['LOCAL_MME_MODEL_DIR missing', { LOCAL_MME_MODEL_DIR: join(dir, 'no-such-dir') }, 'LOCAL_MME_MODEL_DIR'],
];

// Each case is its own short-lived process, independent of the others: run a few at once.
describe('start-up with a bad setting', { concurrency: 4 }, () => {
  for (const [source, env, setting] of gatewayCases) {
    it(`gateway: ${source} → exit 2 naming ${setting}`, async () => {
      assertConfigExit(await runUntilExit('src/main.ts', env), setting);
    });
  }

  it('npm run local-mme: a bad LOCAL_MME_* setting → exit 2 naming it', async () => {
    assertConfigExit(await runUntilExit('src/local-mme/main.ts', { LOCAL_MME_MEMORY_MB: 'lots' }), 'LOCAL_MME_MEMORY_MB');
  });
});
