/**
 * Reads the repo's Dockerfile and .dockerignore the way `docker build` does, for tests that
 * check the image without a Docker engine: instructions per stage with build ARGs substituted,
 * and the build context filter (.dockerignore: paths from the context root, `*` within a path
 * segment, `**` across segments, a matched directory excludes its contents, `!` re-includes,
 * last match wins).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './gateway-process.js';

export interface Instruction {
  op: string;
  args: string;
}

export interface DockerStage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export function readDockerfile(path = join(repoRoot, 'Dockerfile')): DockerStage[] {
  const logical = readFileSync(path, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const buildArgs: Record<string, string> = {};
  const substitute = (text: string) =>
    text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => buildArgs[(braced ?? bare)!] ?? whole);
  const stages: DockerStage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const instruction = op.toUpperCase();
    if (instruction === 'ARG' && stages.length === 0) {
      const [key, value = ''] = args.split('=');
      buildArgs[key!] = value;
    } else if (instruction === 'FROM') {
      const [base = '', , name] = substitute(args).split(/\s+/);
      stages.push({ name: name ?? `stage${stages.length}`, base, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: instruction, args });
    }
  }
  return stages;
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether a path (relative to the build context, `/`-separated) reaches the build. */
export function buildContextFilter(path = join(repoRoot, '.dockerignore')): (relativePath: string) => boolean {
  const rules = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = (include ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      return { include, regex: globToRegExp(pattern) };
    });
  return (relativePath) => {
    const segments = relativePath.split('/');
    const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
    let included = true;
    for (const rule of rules) if (prefixes.some((prefix) => rule.regex.test(prefix))) included = rule.include;
    return included;
  };
}
