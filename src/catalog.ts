/**
 * Maps a logical model name (the `{model}` in `/models/{model}/predict`) to the SageMaker
 * endpoint and TargetModel that serve it, and is the single gate deciding what a client may
 * reach. Everything that ends up in an InvokeEndpoint call's EndpointName or TargetModel
 * passes through here first.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, describeIssues, oneLine } from './config-error.js';
import { gatewayError } from './errors.js';
import { isSageMakerName } from './sagemaker-wire.js';
import type { ColdEvidenceSettings } from './invoke/cold-evidence.js';

/** One URL path segment; no dots at the start so `.` and `..` can never be a name. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** SageMaker's TargetModel limit. */
export const TARGET_MODEL_MAX_LENGTH = 1024;
const DEFAULT_TARGET_SUFFIX = '.tar.gz';

export interface WarmupPayload {
  contentType: string;
  body: string;
}

export interface ResolvedModel {
  name: string;
  endpoint: string;
  targetModel: string;
  /** How long a caller may wait in total for this model to load (cold-start deadline). */
  coldStartBudgetMs: number;
  warmup: WarmupPayload | undefined;
  /** Thresholds that tell a cold call from a warm one by its upstream time (cold-evidence.ts). */
  coldEvidence: ColdEvidenceSettings;
}

export function isValidModelName(name: string): boolean {
  return MODEL_NAME.test(name) && !name.includes('..');
}

/**
 * TargetModel is a key under the endpoint's S3 prefix. Printable ASCII only (no control or
 * Unicode look-alikes), no absolute path and no `.`/`..` segment, so a path can never name
 * anything outside the prefix the operator configured.
 */
export function isValidTargetModel(path: string): boolean {
  if (path.length < 1 || path.length > TARGET_MODEL_MAX_LENGTH) return false;
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(path)) return false;
  if (path.startsWith('/') || path.includes('\\')) return false;
  return path.split('/').every((segment) => segment !== '..' && segment !== '.');
}

const endpointName = z.string().refine(isSageMakerName, 'must be a SageMaker endpoint name');
const targetModel = z.string().refine(isValidTargetModel, 'must be a relative path of printable ASCII without . or .. segments, at most 1024 characters');

const catalogEntrySchema = z.strictObject({
  endpoint: endpointName.optional(),
  targetModel: targetModel.optional(),
  coldStartBudgetSeconds: z.number().int().min(1).max(3600).optional(),
  warmup: z
    .strictObject({ contentType: z.string().min(1).max(1024), body: z.string().max(1024 * 1024) })
    .optional(),
  /** Per-model overrides of COLD_BASELINE_FACTOR, COLD_BASELINE_FLOOR_MS and COLD_FIRST_CALL_MS. */
  coldEvidence: z
    .strictObject({
      baselineFactor: z.number().min(1).max(1000).optional(),
      baselineFloorMs: z.number().int().min(0).max(3_600_000).optional(),
      firstCallMs: z.number().int().min(0).max(3_600_000).optional(),
    })
    .optional(),
});

export const catalogFileSchema = z.strictObject({
  /**
   * default-rule: any valid name `x` maps to `x.tar.gz` on the default endpoint unless listed.
   * catalog-only: only listed names exist; anything else is 404.
   */
  policy: z.enum(['default-rule', 'catalog-only']).default('default-rule'),
  models: z.record(z.string().refine(isValidModelName, 'invalid model name'), catalogEntrySchema).default({}),
});

export type CatalogFile = z.infer<typeof catalogFileSchema>;

export interface CatalogSettings {
  defaultEndpoint: string | undefined;
  defaultColdStartBudgetMs: number;
  defaultColdEvidence: ColdEvidenceSettings;
}

export class ModelCatalog {
  private readonly byName = new Map<string, ResolvedModel>();
  /** `${endpoint}\n${targetModel}` → model, for the SageMaker-compatible route. */
  private readonly byTarget = new Map<string, ResolvedModel>();

  constructor(
    private readonly file: CatalogFile,
    private readonly settings: CatalogSettings,
  ) {
    for (const [name, entry] of Object.entries(file.models)) {
      const endpoint = entry.endpoint ?? settings.defaultEndpoint;
      if (!endpoint) {
        throw new ConfigError(`MODEL_CATALOG: model "${name}" has no endpoint and SAGEMAKER_ENDPOINT_NAME is not set`);
      }
      const model: ResolvedModel = {
        name,
        endpoint,
        targetModel: entry.targetModel ?? `${name}${DEFAULT_TARGET_SUFFIX}`,
        coldStartBudgetMs: (entry.coldStartBudgetSeconds ?? 0) * 1000 || settings.defaultColdStartBudgetMs,
        warmup: entry.warmup,
        coldEvidence: { ...settings.defaultColdEvidence, ...entry.coldEvidence },
      };
      this.byName.set(name, model);
      this.byTarget.set(targetKey(model.endpoint, model.targetModel), model);
    }
    if (file.policy === 'default-rule' && !settings.defaultEndpoint) {
      throw new ConfigError('SAGEMAKER_ENDPOINT_NAME: required by the catalog policy default-rule (or set policy: catalog-only in MODEL_CATALOG)');
    }
  }

  get policy(): CatalogFile['policy'] {
    return this.file.policy;
  }

  /** Names the catalog lists explicitly (the default rule's names are open-ended). */
  listedModels(): ResolvedModel[] {
    return [...this.byName.values()];
  }

  /** Resolves `/models/{name}`; throws INVALID_MODEL_NAME or MODEL_NOT_FOUND. */
  resolve(name: string): ResolvedModel {
    if (!isValidModelName(name)) {
      throw gatewayError(
        'INVALID_MODEL_NAME',
        'Model names are 1-128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit, without "..".',
      );
    }
    const listed = this.byName.get(name);
    if (listed) return listed;
    if (this.file.policy === 'catalog-only' || !this.settings.defaultEndpoint) {
      throw gatewayError('MODEL_NOT_FOUND', `Model "${name}" is not in the catalog.`, { extensions: { model: name } });
    }
    return this.defaultRule(name, this.settings.defaultEndpoint);
  }

  /**
   * Resolves an (EndpointName, TargetModel) pair sent to the SageMaker-compatible route. Only
   * pairs the configuration could produce from a model name are reachable.
   */
  resolveTarget(endpoint: string, target: string): ResolvedModel {
    if (!isSageMakerName(endpoint)) {
      throw gatewayError('INVALID_ENDPOINT_NAME', 'EndpointName must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])* and be at most 63 characters.');
    }
    if (!isValidTargetModel(target)) {
      throw gatewayError('INVALID_TARGET_MODEL', 'TargetModel must be a relative path of printable ASCII without "." or ".." segments, at most 1024 characters.');
    }
    const listed = this.byTarget.get(targetKey(endpoint, target));
    if (listed) return listed;
    const stem = target.endsWith(DEFAULT_TARGET_SUFFIX) ? target.slice(0, -DEFAULT_TARGET_SUFFIX.length) : undefined;
    if (
      this.file.policy === 'default-rule' &&
      endpoint === this.settings.defaultEndpoint &&
      stem !== undefined &&
      isValidModelName(stem) &&
      !this.byName.has(stem) // a listed name is reachable only through its own mapping
    ) {
      return this.defaultRule(stem, endpoint);
    }
    throw gatewayError('ENDPOINT_NOT_ALLOWED', `Endpoint "${endpoint}" with target model "${target}" is not allowed by the gateway's catalog.`);
  }

  private defaultRule(name: string, endpoint: string): ResolvedModel {
    return {
      name,
      endpoint,
      targetModel: `${name}${DEFAULT_TARGET_SUFFIX}`,
      coldStartBudgetMs: this.settings.defaultColdStartBudgetMs,
      warmup: undefined,
      coldEvidence: this.settings.defaultColdEvidence,
    };
  }
}

function targetKey(endpoint: string, target: string): string {
  return `${endpoint}\n${target}`;
}

/** Reads a catalog file (JSON or YAML, by extension; YAML is a superset so it parses both). */
export function loadCatalogFile(path: string | undefined): CatalogFile {
  if (!path) return catalogFileSchema.parse({});
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`MODEL_CATALOG: cannot read ${path}: ${oneLine((error as Error).message)}`);
  }
  const parsed = catalogFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`MODEL_CATALOG: ${path} is invalid: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}
