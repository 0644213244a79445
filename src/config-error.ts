/**
 * A bad setting. Every configuration source (the environment, MODEL_CATALOG,
 * API_KEYS/API_KEYS_FILE, LOCAL_MME_*) throws this with one line naming the setting, so the
 * entry points can stop start-up with exit code 2 and that line, and tell a misconfiguration
 * apart from a bug (exit 1, with its stack).
 */
import type { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** zod's issues on one line: `path: message; path: message` (`root` names an empty path). */
export function describeIssues(error: z.ZodError, root = '(root)'): string {
  return error.issues.map((issue) => `${issue.path.join('.') || root}: ${issue.message}`).join('; ');
}

/**
 * A parser's message on one line: the yaml library appends a multi-line excerpt of the text,
 * which would split the start-up error and could echo an inline API_KEYS document.
 */
export function oneLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/**
 * How an entry point stops when start-up fails: a bad setting exits 2 with its one line; anything
 * else is a bug and exits 1 with its stack. Both as one JSON line on stderr, like every log line.
 */
export function exitOnStartupFailure(service: string, error: unknown): never {
  const isConfig = error instanceof ConfigError;
  const message = isConfig ? error.message : `start-up failed: ${(error as Error)?.stack ?? String(error)}`;
  process.stderr.write(`${JSON.stringify({ level: 'error', message, service })}\n`);
  process.exit(isConfig ? 2 : 1);
}
