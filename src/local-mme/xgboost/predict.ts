/**
 * Prediction with XGBoost's own arithmetic: features and leaf values are float32, and each
 * row's margin is accumulated in float32 in tree order starting from the base margin, as
 * XGBoost's CPU predictor does, so results match XGBoost's to float32 precision.
 */
import type { XgboostModel } from './model.js';

/** One row's output: one number, or one probability per class for multi:softprob. */
export type Prediction = number | number[];

const f32 = Math.fround;

function leafOf(model: XgboostModel, root: number, row: Float64Array): number {
  let node = root;
  for (;;) {
    const l = model.left[node]!;
    if (l === -1) return model.value[node]!;
    const x = row[model.feature[node]!]!;
    const goLeft = Number.isNaN(x) ? model.defaultLeft[node] === 1 : f32(x) < model.value[node]!;
    node = root + (goLeft ? l : model.right[node]!);
  }
}

export function margins(model: XgboostModel, row: Float64Array): Float32Array {
  const sums = new Float32Array(model.numGroup).fill(f32(model.baseMargin));
  for (let t = 0; t < model.treeRoots.length; t++) {
    const group = model.treeGroups[t]!;
    sums[group] = f32(sums[group]! + leafOf(model, model.treeRoots[t]!, row));
  }
  return sums;
}

const sigmoid = (x: number) => f32(1 / (1 + Math.exp(-x)));

function softmax(values: Float32Array): number[] {
  const max = Math.max(...values);
  const exps = Array.from(values, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => f32(e / sum));
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function predictRow(model: XgboostModel, row: Float64Array): Prediction {
  const m = margins(model, row);
  switch (model.objective) {
    case 'reg:squarederror':
    case 'binary:logitraw':
      return m[0]!;
    case 'reg:logistic':
    case 'binary:logistic':
      return sigmoid(m[0]!);
    case 'multi:softprob':
      return softmax(m);
    case 'multi:softmax':
      return argmax(m);
  }
}
