/**
 * No Docker engine runs here, so this replays the Dockerfile itself: each stage's COPY and RUN
 * instructions run in a temporary directory standing in for the stage's WORKDIR, then the
 * runtime stage's CMD starts and must serve a real prediction and shut down cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { repoRoot, startGateway } from '../helpers/gateway-process.js';

const run = promisify(execFile);

interface Stage {
  name: string;
  dir: string;
  env: Record<string, string>;
  cmd?: string[];
}

/** Runs the Dockerfile's stages; returns the last one (the image). */
async function replayDockerfile(): Promise<Stage> {
  const lines = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    switch (instruction) {
      case 'FROM': {
        const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.size}`;
        stage = { name, dir: mkdtempSync(join(tmpdir(), `docker-${name}-`)), env: {} };
        stages.set(name, stage);
        break;
      }
      case 'ENV': {
        const [key, value] = args.split('=');
        stage!.env[key!] = value!;
        break;
      }
      case 'COPY': {
        const from = /--from=(\S+)/.exec(args)?.[1];
        const paths = args.replace(/--from=\S+\s*/, '').split(/\s+/);
        const destination = paths.pop()!;
        for (const source of paths) {
          const origin = from ? join(stages.get(from)!.dir, source.replace(/^\/app\/?/, '')) : join(repoRoot, source);
          const target = destination.endsWith('/') || paths.length > 1 ? join(stage!.dir, destination, source.split('/').pop()!) : join(stage!.dir, destination);
          cpSync(origin, target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        // The npm cache stands in for the registry the image build would download from.
        await run('sh', ['-c', args], { cwd: stage!.dir, env: { ...process.env, ...stage!.env, npm_config_prefer_offline: 'true' }, timeout: 240_000 });
        break;
      case 'CMD':
        stage!.cmd = JSON.parse(args) as string[];
        break;
      default:
        break; // WORKDIR, USER, EXPOSE, STOPSIGNAL: nothing to replay outside a container
    }
  }
  return stage!;
}

describe('the container image, replayed from its Dockerfile', () => {
  it('builds, serves a real prediction from its own files and exits 0 on SIGTERM', { timeout: 300_000 }, async () => {
    const image = await replayDockerfile();
    assert.ok(existsSync(join(image.dir, 'dist/main.js')), 'compiled output shipped');
    assert.ok(!existsSync(join(image.dir, 'src')), 'sources not shipped');
    assert.ok(!existsSync(join(image.dir, 'node_modules/typescript')), 'no dev dependencies shipped');
    assert.ok(existsSync(join(image.dir, 'node_modules/express')), 'production dependencies shipped');
    assert.deepEqual(image.cmd?.slice(0, 1), ['node']);

    const gateway = await startGateway({ ...image.env, LOCAL_MME_LOAD_DELAY_MS: '100' }, { entry: image.cmd![1]!, cwd: image.dir });
    try {
      assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
      const spec = await fetch(`${gateway.url}/openapi.yaml`);
      assert.equal(spec.status, 200);
      const response = await fetch(`${gateway.url}/models/churn/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: '12,70.5,3,1,0,1' });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.ok(Number(text) > 0 && Number(text) < 1);
    } finally {
      assert.equal(await gateway.stop('SIGTERM'), 0);
    }
  });
});
