/**
 * XGBoost's JSON model format (as written by `Booster.save_model('*.json')`), parsed and
 * validated with zod, then laid out as flat typed arrays for fast prediction. Only what the
 * local runtime supports is accepted: gbtree boosters with numerical splits and the
 * objectives below; anything else is refused with a message naming what is unsupported.
 */
import { z } from 'zod';
import { describeIssues } from '../../config-error.js';

export const supportedObjectives = [
  'reg:squarederror',
  'reg:logistic',
  'binary:logistic',
  'binary:logitraw',
  'multi:softprob',
  'multi:softmax',
] as const;
export type Objective = (typeof supportedObjectives)[number];

/** Numbers are stored as strings in learner_model_param; XGBoost ≥ 2 wraps base_score in [ ]. */
const numericString = z.string().transform((value, ctx) => {
  const number = Number(value.replace(/^\[(.*)\]$/, '$1'));
  if (!Number.isFinite(number)) {
    ctx.addIssue({ code: 'custom', message: `not a number: ${value}` });
    return z.NEVER;
  }
  return number;
});

const treeSchema = z.object({
  left_children: z.array(z.number().int()),
  right_children: z.array(z.number().int()),
  split_indices: z.array(z.number().int().min(0)),
  split_conditions: z.array(z.number()),
  default_left: z.array(z.union([z.number(), z.boolean()])),
  split_type: z.array(z.number().int()).optional(),
});

const modelSchema = z.object({
  learner: z.object({
    learner_model_param: z.object({
      base_score: numericString,
      num_class: numericString,
      num_feature: numericString,
    }),
    objective: z.object({ name: z.string() }),
    gradient_booster: z.object({
      name: z.string(),
      model: z
        .object({
          trees: z.array(treeSchema),
          tree_info: z.array(z.number().int().min(0)),
        })
        .optional(),
    }),
  }),
});

/** All trees in one structure of arrays; node ids are offsets from each tree's root. */
export interface XgboostModel {
  objective: Objective;
  numFeature: number;
  /** Output groups: the number of classes for multi:*, 1 otherwise. */
  numGroup: number;
  /** base_score as a margin (already passed through the objective's inverse link). */
  baseMargin: number;
  treeRoots: Int32Array;
  treeGroups: Int32Array;
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  /** Split thresholds for inner nodes, leaf values for leaves; float32 as XGBoost stores them. */
  value: Float32Array;
  defaultLeft: Uint8Array;
}

export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

/** logit(p): XGBoost's ProbToMargin for the logistic objectives (not logitraw, whose base_score is a margin). */
function logit(probability: number): number {
  return Math.log(probability / (1 - probability));
}

export function parseXgboostModel(json: string): XgboostModel {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new UnsupportedModelError('xgboost-model is not in XGBoost JSON format (binary and UBJSON models are not supported)');
  }
  const parsed = modelSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UnsupportedModelError(`xgboost-model is not a valid XGBoost JSON model: ${describeIssues(parsed.error)}`);
  }
  const { learner } = parsed.data;
  const objective = learner.objective.name;
  if (!(supportedObjectives as readonly string[]).includes(objective)) {
    throw new UnsupportedModelError(`objective ${objective} is not supported (supported: ${supportedObjectives.join(', ')})`);
  }
  const booster = learner.gradient_booster;
  if (booster.name !== 'gbtree' || !booster.model) {
    throw new UnsupportedModelError(`booster ${booster.name} is not supported (only gbtree)`);
  }
  const { trees, tree_info: treeInfo } = booster.model;
  const numClass = learner.learner_model_param.num_class;
  const numGroup = objective.startsWith('multi:') ? numClass : 1;
  if (numGroup < 1 || treeInfo.length !== trees.length || treeInfo.some((group) => group >= numGroup)) {
    throw new UnsupportedModelError('tree_info does not match the trees and num_class');
  }
  const baseScore = learner.learner_model_param.base_score;
  const usesLogit = objective === 'reg:logistic' || objective === 'binary:logistic';
  const model = flatten(trees, learner.learner_model_param.num_feature);
  return {
    objective: objective as Objective,
    numFeature: learner.learner_model_param.num_feature,
    numGroup,
    baseMargin: usesLogit ? logit(baseScore) : baseScore,
    treeGroups: Int32Array.from(treeInfo),
    ...model,
  };
}

function flatten(trees: Array<z.infer<typeof treeSchema>>, numFeature: number) {
  const totalNodes = trees.reduce((sum, tree) => sum + tree.left_children.length, 0);
  const left = new Int32Array(totalNodes);
  const right = new Int32Array(totalNodes);
  const feature = new Int32Array(totalNodes);
  const value = new Float32Array(totalNodes);
  const defaultLeft = new Uint8Array(totalNodes);
  const treeRoots = new Int32Array(trees.length);
  let offset = 0;
  trees.forEach((tree, t) => {
    const size = tree.left_children.length;
    const arrays = [tree.right_children, tree.split_indices, tree.split_conditions, tree.default_left];
    if (size === 0 || arrays.some((array) => array.length !== size)) throw new UnsupportedModelError(`tree ${t} has inconsistent node arrays`);
    if (tree.split_type?.some((type) => type !== 0)) throw new UnsupportedModelError(`tree ${t} has categorical splits, which are not supported`);
    treeRoots[t] = offset;
    for (let node = 0; node < size; node++) {
      const l = tree.left_children[node]!;
      const r = tree.right_children[node]!;
      const isLeaf = l === -1;
      // Children must point forward inside the tree, so every walk ends at a leaf.
      if (!isLeaf && (l <= node || r <= node || l >= size || r >= size)) throw new UnsupportedModelError(`tree ${t} node ${node} has invalid children`);
      if (!isLeaf && tree.split_indices[node]! >= numFeature) throw new UnsupportedModelError(`tree ${t} splits on a feature beyond num_feature`);
      left[offset + node] = isLeaf ? -1 : l;
      right[offset + node] = isLeaf ? -1 : r;
      feature[offset + node] = tree.split_indices[node]!;
      value[offset + node] = tree.split_conditions[node]!;
      defaultLeft[offset + node] = Number(tree.default_left[node]) ? 1 : 0;
    }
    offset += size;
  });
  return { treeRoots, left, right, feature, value, defaultLeft };
}

/** Bytes held by the model's arrays: what the local MME counts against LOCAL_MME_MEMORY_MB. */
export function modelMemoryBytes(model: XgboostModel): number {
  return [model.treeRoots, model.treeGroups, model.left, model.right, model.feature, model.value, model.defaultLeft].reduce(
    (sum, array) => sum + array.byteLength,
    0,
  );
}
