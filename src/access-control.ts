/**
 * Optional API keys. Keys are configured as SHA-256 hashes (never in clear), each with an
 * allowlist of models and endpoints; a presented key is hashed and compared in constant time.
 * Off when no keys are configured (local runs); on ECS, turn it on even inside a VPC, since
 * security groups limit who can connect but not which model a connecting service may use.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, describeIssues, oneLine } from './config-error.js';

const apiKeySchema = z.strictObject({
  /** Who the key belongs to; logged instead of the key. */
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the key'),
  /** Model names this key may call; "*" for any. */
  models: z.array(z.string().min(1)).default([]),
  /** Endpoints this key may call through the SageMaker-compatible route; "*" for any. */
  endpoints: z.array(z.string().min(1)).default([]),
  /** Whether this key may scrape /metrics when metrics are restricted. */
  metrics: z.boolean().default(false),
});

export const apiKeysFileSchema = z.strictObject({ keys: z.array(apiKeySchema).min(1) });

export type ApiKey = z.infer<typeof apiKeySchema>;

export interface Principal {
  id: string;
  models: ReadonlySet<string>;
  endpoints: ReadonlySet<string>;
  metrics: boolean;
}

export function hashApiKey(key: string): Buffer {
  // The one-shot hash: a Hash object per request costs several times as much.
  return hash('sha256', key, 'buffer');
}

export class ApiKeyRegistry {
  private readonly keys: Array<{ hash: Buffer; principal: Principal }>;

  constructor(keys: ApiKey[]) {
    this.keys = keys.map((key) => ({
      hash: Buffer.from(key.sha256, 'hex'),
      principal: { id: key.id, models: new Set(key.models), endpoints: new Set(key.endpoints), metrics: key.metrics },
    }));
  }

  /** The key's owner, or undefined. Every configured hash is compared, so timing reveals nothing. */
  authenticate(presented: string): Principal | undefined {
    const presentedHash = hashApiKey(presented);
    let found: Principal | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(key.hash, presentedHash)) found = key.principal;
    }
    return found;
  }
}

/** Whether the key lists any of these names (the names that reach one target), or "*". */
export function mayUseAnyModel(principal: Principal, names: readonly string[]): boolean {
  return principal.models.has('*') || names.some((name) => principal.models.has(name));
}

export function mayUseEndpoint(principal: Principal, endpoint: string): boolean {
  return principal.endpoints.has('*') || principal.endpoints.has(endpoint);
}

/**
 * Reads keys from API_KEYS (JSON or YAML text, e.g. injected from Secrets Manager by ECS) or
 * API_KEYS_FILE; undefined when neither is set (access control off).
 */
export function loadApiKeys(inline: string | undefined, path: string | undefined): ApiKeyRegistry | undefined {
  if (!inline && !path) return undefined;
  const source = inline ? 'API_KEYS' : `API_KEYS_FILE (${path})`;
  let raw: unknown;
  try {
    raw = parseYaml(inline ?? readFileSync(path!, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${source}: cannot read: ${oneLine((error as Error).message)}`);
  }
  const parsed = apiKeysFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${source}: ${describeIssues(parsed.error)}`);
  }
  return new ApiKeyRegistry(parsed.data.keys);
}
