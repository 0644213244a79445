/**
 * Maps a logical model name (the `{model}` in `/models/{model}/predict`) to the SageMaker
 * targets that serve it (an endpoint with a TargetModel or an inference component; several in
 * priority order for fallbacks, see catalog-targets.ts), and is the single gate deciding what a
 * client may reach. Everything that ends up in an InvokeEndpoint call's EndpointName,
 * TargetModel or InferenceComponentName passes through here first.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, describeIssues, oneLine } from './config-error.js';
import {
  INFERENCE_COMPONENT_PREFIX,
  type UpstreamTarget,
  endpointNameSchema,
  resolveTarget as resolveUpstreamTarget,
  targetFields,
  targetLabelSchema,
} from './catalog-targets.js';
import { gatewayError } from './errors.js';
import { isSageMakerName } from './sagemaker-wire.js';
import type { ColdEvidenceSettings } from './invoke/cold-evidence.js';
import { modelKey } from './invoke/model-state.js';

/** One URL path segment; no dots at the start so `.` and `..` can never be a name. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** SageMaker's TargetModel limit. */
export const TARGET_MODEL_MAX_LENGTH = 1024;
const DEFAULT_TARGET_SUFFIX = '.tar.gz';
/** Default-rule resolutions kept (the hot names); the cache starts over when full. */
const DEFAULT_RULE_CACHE_MAX = 1_000;

export interface WarmupPayload {
  contentType: string;
  body: string;
}

/**
 * A catalog model. Its own endpoint, targetModel (identity), address, upstream and cold-start
 * budget (how long a caller may wait in total for it to load) are those of the target being
 * invoked: the primary as resolved, each fallback's in turn (see invoke/fallbacks.ts).
 */
export interface ResolvedModel extends UpstreamTarget {
  name: string;
  warmup: WarmupPayload | undefined;
  /** Thresholds that tell a cold call from a warm one by its upstream time (cold-evidence.ts). */
  coldEvidence: ColdEvidenceSettings;
  /** Every target in priority order; the first is the primary. */
  targets: UpstreamTarget[];
  /** Serve from a target known warm when the preferred one is cold. */
  preferWarm: boolean;
  keepWarm: { intervalMs: number } | undefined;
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

const targetModel = z.string().refine(isValidTargetModel, 'must be a relative path of printable ASCII without . or .. segments, at most 1024 characters');
const coldStartBudgetSeconds = z.number().int().min(1).max(3600);
const oneAddress = (entry: { targetModel?: string | undefined; inferenceComponent?: string | undefined }) =>
  entry.targetModel === undefined || entry.inferenceComponent === undefined;
const ONE_ADDRESS = 'set targetModel (multi-model endpoint) or inferenceComponent, not both';

const targetSchema = z
  .strictObject({ name: targetLabelSchema.optional(), ...targetFields, targetModel: targetModel.optional(), coldStartBudgetSeconds: coldStartBudgetSeconds.optional() })
  .refine(oneAddress, ONE_ADDRESS);

const catalogEntrySchema = z
  .strictObject({
    ...targetFields,
    endpoint: endpointNameSchema.optional(),
    targetModel: targetModel.optional(),
    coldStartBudgetSeconds: coldStartBudgetSeconds.optional(),
    warmup: z
      .strictObject({ contentType: z.string().min(1).max(1024), body: z.string().max(1024 * 1024) })
      .optional(),
    /** Priority order; replaces the entry's own target fields. */
    targets: z.array(targetSchema).min(1).max(8).optional(),
    preferWarm: z.boolean().default(false),
    keepWarm: z.strictObject({ intervalSeconds: z.number().int().min(1).max(86_400) }).optional(),
    /** Per-model overrides of COLD_BASELINE_FACTOR, COLD_BASELINE_FLOOR_MS and COLD_FIRST_CALL_MS. */
    coldEvidence: z
      .strictObject({
        baselineFactor: z.number().min(1).max(1000).optional(),
        baselineFloorMs: z.number().int().min(0).max(3_600_000).optional(),
        firstCallMs: z.number().int().min(0).max(3_600_000).optional(),
      })
      .optional(),
  })
  .refine(oneAddress, ONE_ADDRESS)
  .refine(
    (entry) => !entry.targets || Object.keys(targetFields).concat('targetModel').every((field) => !(field in entry)),
    'set either targets or the entry\'s own endpoint/targetModel/inferenceComponent fields, not both',
  )
  .refine((entry) => {
    const labels = (entry.targets ?? []).map((target, index) => target.name ?? String(index));
    return new Set(labels).size === labels.length;
  }, 'target names must be unique within a model');

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
  /** Default budget of inference-component targets (a scale-out from zero takes minutes). */
  defaultComponentBudgetMs: number;
}

/** What the SageMaker-compatible route addresses: a TargetModel or an inference component. */
export interface WireTarget {
  targetModel: string | undefined;
  inferenceComponent: string | undefined;
}

export class ModelCatalog {
  private readonly byName = new Map<string, ResolvedModel>();
  /** modelKey → model, for the SageMaker-compatible route. */
  private readonly byTarget = new Map<string, ResolvedModel>();
  /** `${endpoint}\n${targetModel}` → every listed name with that target (aliases, fallbacks). */
  private readonly namesByTarget = new Map<string, string[]>();
  /** endpoint → its listed targets. */
  private readonly listedTargets = new Map<string, Set<string>>();
  private readonly defaultRuleModels = new Map<string, ResolvedModel>();

  constructor(
    private readonly file: CatalogFile,
    private readonly settings: CatalogSettings,
  ) {
    for (const [name, entry] of Object.entries(file.models)) {
      const defaults = {
        modelName: name,
        defaultEndpoint: settings.defaultEndpoint,
        modelBudgetMs: entry.coldStartBudgetSeconds === undefined ? undefined : entry.coldStartBudgetSeconds * 1000,
        defaultColdStartBudgetMs: settings.defaultColdStartBudgetMs,
        defaultComponentBudgetMs: settings.defaultComponentBudgetMs,
        defaultTargetSuffix: DEFAULT_TARGET_SUFFIX,
      };
      let targets: UpstreamTarget[];
      try {
        const raw = entry.targets?.map(({ name: label, ...target }) => ({ ...target, label })) ?? [entry];
        targets = raw.map((target, index) => resolveUpstreamTarget(target, index, defaults));
      } catch (error) {
        throw new ConfigError(`MODEL_CATALOG: ${(error as Error).message}`);
      }
      const model: ResolvedModel = {
        ...targets[0]!,
        name,
        warmup: entry.warmup,
        coldEvidence: { ...settings.defaultColdEvidence, ...entry.coldEvidence },
        targets,
        preferWarm: entry.preferWarm,
        keepWarm: entry.keepWarm && { intervalMs: entry.keepWarm.intervalSeconds * 1000 },
      };
      this.byName.set(name, model);
      for (const target of targets) {
        // Wire callers address the SageMaker name, whatever client reaches it.
        const key = modelKey(target.address.endpointName, target.targetModel);
        if (!this.byTarget.has(key)) this.byTarget.set(key, model);
        this.namesByTarget.set(key, [...(this.namesByTarget.get(key) ?? []), name]);
        this.listedTargets.set(target.endpoint, (this.listedTargets.get(target.endpoint) ?? new Set()).add(target.targetModel));
      }
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
    const endpoint = this.settings.defaultEndpoint;
    // A target the catalog lists is reachable only under its listed names, so a key that lists
    // names can never reach a listed target through the default rule's spelling of it.
    if (this.file.policy === 'catalog-only' || !endpoint || this.listsTarget(endpoint, `${name}${DEFAULT_TARGET_SUFFIX}`)) {
      throw gatewayError('MODEL_NOT_FOUND', `Model "${name}" is not in the catalog.`, { extensions: { model: name } });
    }
    return this.defaultRule(name, endpoint);
  }

  /**
   * The names that reach what the wire route was sent: the listed model it resolved to and its
   * aliases (listed models with the very same targets, in order), or the default rule's one
   * name. Keys list names, so a key may reach the target if it lists any of them. A model that
   * only shares one target (say as a fallback) does not count: the call is served by the
   * resolved model, whose other targets that name may not reach.
   */
  namesReaching(endpoint: string, target: WireTarget, resolved: ResolvedModel): readonly string[] {
    if (this.byName.get(resolved.name) !== resolved) return [resolved.name];
    const path = target.inferenceComponent !== undefined ? `${INFERENCE_COMPONENT_PREFIX}${target.inferenceComponent}` : (target.targetModel ?? '');
    const sameTargets = (name: string) => {
      const other = this.byName.get(name)!.targets;
      return other.length === resolved.targets.length && other.every((t, i) => t.endpoint === resolved.targets[i]!.endpoint && t.targetModel === resolved.targets[i]!.targetModel);
    };
    return (this.namesByTarget.get(modelKey(endpoint, path)) ?? [resolved.name]).filter(sameTargets);
  }

  /** Whether the catalog lists a name for this target (then only its listed names reach it). */
  listsTarget(endpoint: string, targetModel: string): boolean {
    // Asked for every remembered model in a listing: a lookup without building a key string.
    return this.listedTargets.get(endpoint)?.has(targetModel) ?? false;
  }

  /**
   * Resolves what the SageMaker-compatible route addresses, (EndpointName, TargetModel) or
   * (EndpointName, InferenceComponentName), to its catalog model. Only pairs the configuration
   * could produce from a model name are reachable; inference components only when listed.
   */
  resolveTarget(endpoint: string, target: WireTarget): ResolvedModel {
    if (!isSageMakerName(endpoint)) {
      throw gatewayError('INVALID_ENDPOINT_NAME', 'EndpointName must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])* and be at most 63 characters.');
    }
    if (target.inferenceComponent !== undefined) {
      const listed = this.byTarget.get(modelKey(endpoint, `${INFERENCE_COMPONENT_PREFIX}${target.inferenceComponent}`));
      if (listed) return listed;
      throw gatewayError('ENDPOINT_NOT_ALLOWED', `Endpoint "${endpoint}" with inference component "${target.inferenceComponent}" is not allowed by the gateway's catalog.`);
    }
    const path = target.targetModel ?? '';
    if (!isValidTargetModel(path)) {
      throw gatewayError('INVALID_TARGET_MODEL', 'TargetModel must be a relative path of printable ASCII without "." or ".." segments, at most 1024 characters.');
    }
    const listed = this.byTarget.get(modelKey(endpoint, path));
    // A TargetModel reaches only TargetModel targets, never a component through its identity.
    if (listed?.targets.some((t) => t.address.endpointName === endpoint && t.address.targetModel === path)) return listed;
    const stem = path.endsWith(DEFAULT_TARGET_SUFFIX) ? path.slice(0, -DEFAULT_TARGET_SUFFIX.length) : undefined;
    if (
      this.file.policy === 'default-rule' &&
      endpoint === this.settings.defaultEndpoint &&
      stem !== undefined &&
      isValidModelName(stem) &&
      !this.byName.has(stem) // a listed name is reachable only through its own mapping
    ) {
      return this.defaultRule(stem, endpoint);
    }
    throw gatewayError('ENDPOINT_NOT_ALLOWED', `Endpoint "${endpoint}" with target model "${path}" is not allowed by the gateway's catalog.`);
  }

  /**
   * The default rule's answer for a name, made once: resolving it builds several objects (and a
   * JSON key) per call, and the same few names arrive on every request. Bounded, so 10,000
   * distinct names cannot grow it without limit; the endpoint is always the default one.
   */
  private defaultRule(name: string, endpoint: string): ResolvedModel {
    let model = this.defaultRuleModels.get(name);
    if (model?.endpoint !== endpoint) {
      if (this.defaultRuleModels.size >= DEFAULT_RULE_CACHE_MAX) this.defaultRuleModels.clear();
      model = this.makeDefaultRuleModel(name, endpoint);
      this.defaultRuleModels.set(name, model);
    }
    return model;
  }

  private makeDefaultRuleModel(name: string, endpoint: string): ResolvedModel {
    const target = resolveUpstreamTarget({ endpoint }, 0, {
      modelName: name,
      defaultEndpoint: endpoint,
      modelBudgetMs: undefined,
      defaultColdStartBudgetMs: this.settings.defaultColdStartBudgetMs,
      defaultComponentBudgetMs: this.settings.defaultComponentBudgetMs,
      defaultTargetSuffix: DEFAULT_TARGET_SUFFIX,
    });
    return { ...target, name, warmup: undefined, coldEvidence: this.settings.defaultColdEvidence, targets: [target], preferWarm: false, keepWarm: undefined };
  }
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
