/**
 * No Docker engine runs here, so this replays the Dockerfile itself: each stage's COPY (through
 * the .dockerignore filter), ENV and RUN instructions run in a temporary directory standing in
 * for the stage's WORKDIR, then the runtime stage's CMD starts from that directory alone and must
 * serve a real prediction from the shipped sample models, write nothing to its own files and
 * exit 0 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { buildContextFilter, readDockerfile } from '../helpers/dockerfile.js';
import { repoRoot, startGateway } from '../helpers/gateway-process.js';

const run = promisify(execFile);
const tempDirs: string[] = [];

interface ReplayedStage {
  dir: string;
  env: Record<string, string>;
  cmd: string[] | undefined;
}

/** Runs the Dockerfile's stages in order; returns the last one (the image). */
async function replayDockerfile(): Promise<ReplayedStage> {
  const reachesBuild = buildContextFilter();
  const fromContext = (source: string) => reachesBuild(relative(repoRoot, source).split(sep).join('/'));
  const replayed = new Map<string, ReplayedStage>();
  let last: ReplayedStage | undefined;
  for (const stage of readDockerfile()) {
    const dir = mkdtempSync(join(tmpdir(), `docker-${stage.name}-`));
    tempDirs.push(dir);
    const current: ReplayedStage = { dir, env: {}, cmd: undefined };
    replayed.set(stage.name, current);
    for (const { op, args } of stage.instructions) {
      switch (op) {
        case 'ENV': {
          const [key, value = ''] = args.split('=');
          current.env[key!] = value;
          break;
        }
        case 'COPY': {
          const from = /--from=(\S+)/.exec(args)?.[1];
          const paths = args.replace(/--\w+=\S+\s*/g, '').split(/\s+/);
          const destination = paths.pop()!;
          for (const source of paths) {
            const origin = from ? join(replayed.get(from)!.dir, source.replace(/^\/app\/?/, '')) : join(repoRoot, source);
            const intoDirectory = destination.endsWith('/') || paths.length > 1;
            const target = intoDirectory ? join(dir, destination, source.split('/').pop()!) : join(dir, destination);
            cpSync(origin, target, { recursive: true, filter: from ? undefined : fromContext });
          }
          break;
        }
        case 'RUN':
          // npm's cache stands in for the registry the image build downloads from.
          await run('sh', ['-c', args], {
            cwd: dir,
            env: { ...process.env, ...current.env, npm_config_prefer_offline: 'true' },
            timeout: 240_000,
          });
          break;
        case 'CMD':
          current.cmd = JSON.parse(args) as string[];
          break;
        default:
          break; // WORKDIR, USER, EXPOSE, STOPSIGNAL: nothing to replay outside a container
      }
    }
    last = current;
  }
  return last!;
}

/** Every file under a directory with its size and modification time. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const stats = statSync(path);
    files.set(relative(dir, path), `${stats.size}:${stats.mtimeMs}`);
  }
  return files;
}

after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('the container image, replayed from its Dockerfile', () => {
  it('builds, serves a real prediction from its own files and exits 0 on SIGTERM', { timeout: 300_000 }, async () => {
    const image = await replayDockerfile();
    assert.deepEqual(readdirSync(image.dir).sort(), ['dist', 'models', 'node_modules', 'openapi.yaml', 'package-lock.json', 'package.json']);
    assert.ok(existsSync(join(image.dir, 'dist/main.js')), 'compiled output shipped');
    assert.ok(existsSync(join(image.dir, 'dist/local-mme/main.js')), 'the local MME compiled too');
    assert.ok(!existsSync(join(image.dir, 'node_modules/typescript')), 'no dev dependencies shipped');
    assert.ok(existsSync(join(image.dir, 'node_modules/express')), 'production dependencies shipped');
    assert.equal(image.env['NODE_ENV'], 'production');
    assert.deepEqual(image.cmd, ['node', 'dist/main.js']);

    const before = snapshot(image.dir);
    // The image's CMD from its WORKDIR, with no LOCAL_MME_MODEL_DIR: the local MME must find the
    // sample models inside the image (../../models from dist/local-mme).
    const gateway = await startGateway({ ...image.env, LOCAL_MME_LOAD_DELAY_MS: '100' }, { entry: image.cmd[1]!, cwd: image.dir });
    let exitCode: number | null;
    try {
      assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${gateway.url}/openapi.yaml`)).status, 200);
      const response = await fetch(`${gateway.url}/models/churn/predict`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: '12,70.5,3,1,0,1',
      });
      const text = await response.text();
      assert.equal(response.status, 200, text);
      const probability = Number(text);
      assert.ok(probability > 0 && probability < 1, text);
    } finally {
      exitCode = await gateway.stop('SIGTERM');
    }
    assert.equal(exitCode, 0);
    assert.ok(gateway.logs.some((line) => line['message'] === 'shutdown: complete'), 'shut down through the drain path');
    // ECS runs the task with a read-only root filesystem; the part checkable without a
    // container is that the process wrote nothing under its own directory.
    assert.deepEqual(snapshot(image.dir), before);
  });
});
