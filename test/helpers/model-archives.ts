/**
 * Model archives for tests of the local MME's memory and load behaviour: a large XGBoost model
 * (the sample churn model's trees repeated until it weighs what a test needs, packed as
 * SageMaker's XGBoost container packs it) and a corrupt archive (gzip of random bytes).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import { MODEL_FILE_NAME, readModelFile } from '../../src/local-mme/model-archive.js';

/** Bytes of local MME memory one tree of the churn model costs (9,850 bytes for its 20 trees). */
const CHURN_BYTES_PER_TREE = 9_850 / 20;

interface XgboostJson {
  learner: { gradient_booster: { model: { gbtree_model_param: { num_trees: string }; tree_info: number[]; trees: Array<{ id: number }> } } };
}

async function tarGz(name: string, content: Buffer): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  tar.entry({ name }, content);
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

/** Writes `<dir>/<name>.tar.gz`: a valid XGBoost model using about `memoryBytes` in the local MME. */
export async function writeLargeModel(dir: string, name: string, memoryBytes: number): Promise<void> {
  const model = JSON.parse((await readModelFile(join(DEFAULT_MODEL_DIR, 'churn.tar.gz'))).toString('utf8')) as XgboostJson;
  const booster = model.learner.gradient_booster.model;
  const copies = Math.ceil(memoryBytes / CHURN_BYTES_PER_TREE / booster.trees.length);
  const trees = Array.from({ length: copies }, () => booster.trees).flat().map((tree, id) => ({ ...tree, id }));
  booster.trees = trees;
  booster.tree_info = trees.map(() => 0);
  booster.gbtree_model_param.num_trees = String(trees.length);
  writeFileSync(join(dir, `${name}.tar.gz`), await tarGz(MODEL_FILE_NAME, Buffer.from(JSON.stringify(model))));
}

/** Writes `<dir>/<name>.tar.gz` holding gzip of random bytes: a download that cannot load. */
export function writeCorruptArchive(dir: string, name: string): void {
  writeFileSync(join(dir, `${name}.tar.gz`), gzipSync(randomBytes(4_096)));
}
