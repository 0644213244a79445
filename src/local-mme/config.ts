/**
 * Settings of the local MME, read from the environment once (zod). The same variables
 * configure `npm run local-mme` and the copy the gateway embeds by default.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { INFERENCE_COMPONENT_NAME, MAX_NAME_LENGTH } from '../sagemaker-wire.js';
import { ConfigError, describeIssues } from '../config-error.js';
import { faultPlanSchema, type FaultPlan } from './faults.js';
import type { ModelCacheSettings } from './model-cache.js';

/** The repo's models/ directory, from src/local-mme (tsx) or dist/local-mme (compiled) alike. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models', import.meta.url));

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const envSchema = z.object({
  LOCAL_MME_PORT: int(0, 65535, 8081),
  LOCAL_MME_HOST: z.string().min(1).default('127.0.0.1'),
  LOCAL_MME_MODEL_DIR: z.preprocess(emptyAsUndefined, z.string().default(DEFAULT_MODEL_DIR)),
  // Long enough that a person trying `npm start` sees the cold first call and the warm second.
  LOCAL_MME_LOAD_DELAY_MS: int(0, 3_600_000, 1_500),
  LOCAL_MME_READY_WAIT_MS: int(0, 3_600_000, 60_000),
  LOCAL_MME_LOAD_LIMIT_MS: int(1, 3_600_000, 360_000),
  LOCAL_MME_MEMORY_MB: int(1, 1_048_576, 1_024),
  // Short: long enough that a caller's retries see the failure instead of starting new loads.
  LOCAL_MME_FAILED_LOAD_MEMORY_MS: int(0, 3_600_000, 5_000),
  LOCAL_MME_ENDPOINTS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .transform((value) => (value ? value.split(',').map((name) => name.trim()).filter(Boolean) : undefined)),
  ),
  LOCAL_MME_FAULTS: z.preprocess(emptyAsUndefined, z.string().optional()),
  // Off by default: SageMaker documents no idle time, it unloads "unused" models under pressure.
  LOCAL_MME_IDLE_UNLOAD_MS: int(0, 86_400_000, 0),
  LOCAL_MME_INFERENCE_COMPONENTS: z.preprocess(emptyAsUndefined, z.string().optional()),
  // AWS's scale-to-zero walkthrough: target tracking scales a quiet component in after ~15 min.
  LOCAL_MME_IC_IDLE_MS: int(0, 86_400_000, 900_000),
  // The same walkthrough measured ~5 min from the first refused call to a copy in service.
  LOCAL_MME_IC_PROVISION_MS: int(0, 3_600_000, 300_000),
});

/** `name=archive` pairs: an inference component and its model archive under the model directory. */
function parseInferenceComponents(value: string | undefined): Map<string, string> {
  const components = new Map<string, string>();
  for (const item of (value ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const separator = item.indexOf('=');
    const name = item.slice(0, separator).trim();
    const archive = item.slice(separator + 1).trim();
    if (separator < 1 || !archive || name.length > MAX_NAME_LENGTH || !INFERENCE_COMPONENT_NAME.test(name)) {
      throw new ConfigError(`invalid local MME configuration: LOCAL_MME_INFERENCE_COMPONENTS: "${item}" is not component-name=archive-path`);
    }
    components.set(name, archive);
  }
  return components;
}

export interface LocalMmeConfig extends ModelCacheSettings {
  port: number;
  host: string;
  modelDir: string;
  /** Endpoint names answered; undefined = any valid name. */
  endpoints: string[] | undefined;
  faults: FaultPlan;
  inferenceComponents: {
    /** Component name → archive path relative to the model directory. */
    archives: Map<string, string>;
    idleMs: number;
    provisionMs: number;
  };
}

export function parseLocalMmeConfig(env: NodeJS.ProcessEnv): LocalMmeConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid local MME configuration: ${describeIssues(parsed.error, 'environment')}`);
  }
  const e = parsed.data;
  let faults: FaultPlan = faultPlanSchema.parse({});
  if (e.LOCAL_MME_FAULTS) {
    let raw: unknown;
    try {
      raw = JSON.parse(e.LOCAL_MME_FAULTS);
    } catch {
      throw new ConfigError('invalid local MME configuration: LOCAL_MME_FAULTS: must be JSON');
    }
    const plan = faultPlanSchema.safeParse(raw);
    if (!plan.success) {
      throw new ConfigError(`invalid local MME configuration: LOCAL_MME_FAULTS: ${describeIssues(plan.error)}`);
    }
    faults = plan.data;
  }
  if (!isDirectory(e.LOCAL_MME_MODEL_DIR)) {
    throw new ConfigError(`invalid local MME configuration: LOCAL_MME_MODEL_DIR: ${e.LOCAL_MME_MODEL_DIR} is not a readable directory`);
  }
  return {
    port: e.LOCAL_MME_PORT,
    host: e.LOCAL_MME_HOST,
    modelDir: e.LOCAL_MME_MODEL_DIR,
    loadDelayMs: e.LOCAL_MME_LOAD_DELAY_MS,
    readyWaitMs: e.LOCAL_MME_READY_WAIT_MS,
    loadLimitMs: e.LOCAL_MME_LOAD_LIMIT_MS,
    memoryBytes: e.LOCAL_MME_MEMORY_MB * 1024 * 1024,
    failedLoadMemoryMs: e.LOCAL_MME_FAILED_LOAD_MEMORY_MS,
    endpoints: e.LOCAL_MME_ENDPOINTS,
    faults,
    idleUnloadMs: e.LOCAL_MME_IDLE_UNLOAD_MS,
    inferenceComponents: {
      archives: parseInferenceComponents(e.LOCAL_MME_INFERENCE_COMPONENTS),
      idleMs: e.LOCAL_MME_IC_IDLE_MS,
      provisionMs: e.LOCAL_MME_IC_PROVISION_MS,
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
