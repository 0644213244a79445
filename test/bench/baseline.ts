/**
 * The gateway as it was at another commit, compiled next to the current one, so one bench run
 * measures before and after side by side on the same machine and load (`BENCH_BASELINE=<ref>`).
 * The tree comes from `git archive` (the repository's worktrees and refs are left alone) and
 * borrows this checkout's node_modules, so it suits commits with the same dependencies.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './processes.js';

const run = promisify(execFile);

/** Builds `ref` in a temporary directory; returns the path of its dist/main.js and its commit. */
export async function buildGatewayAt(ref: string): Promise<{ mainJs: string; commit: string }> {
  const commit = (await run('git', ['-C', repoRoot, 'rev-parse', '--short', `${ref}^{commit}`])).stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), `mme-gateway-${commit}-`));
  await run('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repoRoot, commit, dir]);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.build.json')]);
  return { mainJs: join(dir, 'dist/main.js'), commit };
}
