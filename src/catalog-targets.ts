/**
 * Where a catalog model runs: one or more upstream targets in priority order. A target is an
 * endpoint plus either a TargetModel (multi-model endpoint) or an inference component, with
 * optional TargetContainerHostname and TargetVariant, and optionally its own region, runtime
 * URL and credentials profile (a second endpoint in another region or account). Every value
 * here ends up in an InvokeEndpoint call, so each is checked against SageMaker's constraints.
 */
import { z } from 'zod';
import { ENDPOINT_NAME, INFERENCE_COMPONENT_NAME, MAX_NAME_LENGTH } from './sagemaker-wire.js';

/** A bounded metric label and header value: which target served. */
const TARGET_LABEL = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** An AWS shared-config profile name (never a secret: the credentials stay in ~/.aws). */
const PROFILE_NAME = /^[A-Za-z0-9_.+=,@-]{1,64}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** Identity prefix of an inference-component target, next to TargetModel paths in state and logs. */
export const INFERENCE_COMPONENT_PREFIX = 'inference-component/';

const sageMakerName = (what: string, pattern: RegExp) =>
  z.string().max(MAX_NAME_LENGTH).regex(pattern, `must be a SageMaker ${what} (at most ${MAX_NAME_LENGTH} characters)`);

export const endpointNameSchema = sageMakerName('endpoint name', ENDPOINT_NAME);

/** Target fields, shared by a one-target entry and each item of `targets`. */
export const targetFields = {
  endpoint: endpointNameSchema.optional(),
  inferenceComponent: sageMakerName('inference component name', INFERENCE_COMPONENT_NAME).optional(),
  targetContainerHostname: sageMakerName('container hostname', ENDPOINT_NAME).optional(),
  targetVariant: sageMakerName('production variant name', ENDPOINT_NAME).optional(),
  region: z.string().regex(REGION, 'must be an AWS region such as eu-west-1').optional(),
  runtimeUrl: z.url({ protocol: /^https?$/ }).optional(),
  credentialsProfile: z.string().regex(PROFILE_NAME, 'must be an AWS profile name').optional(),
};

export const targetLabelSchema = z.string().regex(TARGET_LABEL, 'must be 1-32 lowercase letters, digits, "_" or "-"');

/** Which SageMaker Runtime client a target uses; all undefined = the gateway's own. */
export interface UpstreamRef {
  region: string | undefined;
  runtimeUrl: string | undefined;
  credentialsProfile: string | undefined;
  /** One stable string per distinct client (the transport router's map key), computed once. */
  key: string;
}

export function upstreamRef(region: string | undefined, runtimeUrl: string | undefined, credentialsProfile: string | undefined): UpstreamRef {
  return { region, runtimeUrl, credentialsProfile, key: JSON.stringify([region ?? '', runtimeUrl ?? '', credentialsProfile ?? '']) };
}

export const DEFAULT_UPSTREAM: UpstreamRef = upstreamRef(undefined, undefined, undefined);

function endpointIdentity(endpointName: string, upstream: UpstreamRef): string {
  if (upstream.key === DEFAULT_UPSTREAM.key) return endpointName;
  const where = [upstream.region, upstream.runtimeUrl && new URL(upstream.runtimeUrl).host, upstream.credentialsProfile].filter(Boolean);
  return `${endpointName}@${where.join('/')}`;
}

/** What InvokeEndpoint carries to address the model, besides the caller's payload. */
export interface TargetAddress {
  /** EndpointName, as SageMaker knows it (the path of the call). */
  endpointName: string;
  /** X-Amzn-SageMaker-Target-Model (multi-model endpoints). */
  targetModel: string | undefined;
  /** X-Amzn-SageMaker-Inference-Component. */
  inferenceComponent: string | undefined;
  targetContainerHostname: string | undefined;
  /** Pinned by the catalog; undefined lets the caller choose (or SageMaker's weights). */
  targetVariant: string | undefined;
}

export interface UpstreamTarget {
  /** Bounded label: access log, X-Model-Target, metrics. */
  label: string;
  /**
   * The endpoint's identity for state, breakers, metrics and logs: its name, followed by
   * `@<region/host/profile>` when it is reached through another client, so the same endpoint
   * name in two regions or accounts never shares a breaker or a warm/cold state.
   */
  endpoint: string;
  /**
   * The model's identity on its endpoint, for state, breakers and logs: the TargetModel, or
   * `inference-component/<name>` for an inference component.
   */
  targetModel: string;
  address: TargetAddress;
  upstream: UpstreamRef;
  coldStartBudgetMs: number;
}

export interface RawTarget {
  label?: string | undefined;
  endpoint?: string | undefined;
  targetModel?: string | undefined;
  inferenceComponent?: string | undefined;
  targetContainerHostname?: string | undefined;
  targetVariant?: string | undefined;
  region?: string | undefined;
  runtimeUrl?: string | undefined;
  credentialsProfile?: string | undefined;
  coldStartBudgetSeconds?: number | undefined;
}

export interface TargetDefaults {
  modelName: string;
  defaultEndpoint: string | undefined;
  /** The entry's own budget, else the setting's (longer for inference components). */
  modelBudgetMs: number | undefined;
  defaultColdStartBudgetMs: number;
  defaultComponentBudgetMs: number;
  defaultTargetSuffix: string;
}

export function resolveTarget(raw: RawTarget, index: number, defaults: TargetDefaults): UpstreamTarget {
  const endpoint = raw.endpoint ?? defaults.defaultEndpoint;
  if (!endpoint) {
    throw new Error(`model "${defaults.modelName}" target ${index + 1} has no endpoint and SAGEMAKER_ENDPOINT_NAME is not set`);
  }
  const component = raw.inferenceComponent;
  const targetModel = component === undefined ? (raw.targetModel ?? `${defaults.modelName}${defaults.defaultTargetSuffix}`) : undefined;
  const fallbackBudgetMs = component === undefined ? defaults.defaultColdStartBudgetMs : defaults.defaultComponentBudgetMs;
  const upstream = upstreamRef(raw.region, raw.runtimeUrl, raw.credentialsProfile);
  return {
    label: raw.label ?? (index === 0 ? 'primary' : `fallback-${index}`),
    endpoint: endpointIdentity(endpoint, upstream),
    targetModel: targetModel ?? `${INFERENCE_COMPONENT_PREFIX}${component}`,
    address: {
      endpointName: endpoint,
      targetModel,
      inferenceComponent: component,
      targetContainerHostname: raw.targetContainerHostname,
      targetVariant: raw.targetVariant,
    },
    upstream,
    coldStartBudgetMs: (raw.coldStartBudgetSeconds ?? 0) * 1000 || defaults.modelBudgetMs || fallbackBudgetMs,
  };
}
