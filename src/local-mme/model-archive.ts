/**
 * Reads a SageMaker model archive (`model.tar.gz`) the way SageMaker's XGBoost container finds
 * its model: the file named `xgboost-model` at the archive's top level. Sizes are capped so a
 * hostile or broken archive cannot exhaust memory.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';

export const MODEL_FILE_NAME = 'xgboost-model';
/** Far above any sensible XGBoost model, far below what would hurt the process. */
export const MAX_MODEL_FILE_BYTES = 512 * 1024 * 1024;

function isModelFile(name: string): boolean {
  return name === MODEL_FILE_NAME || name === `./${MODEL_FILE_NAME}`;
}

/** The bytes of `xgboost-model` inside the archive at `archivePath`; rejects if it is absent. */
export async function readModelFile(archivePath: string): Promise<Buffer> {
  let found: Buffer | undefined;
  const untar = extract();
  untar.on('entry', (header, stream, next) => {
    if (header.type !== 'file' || !isModelFile(header.name)) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    if ((header.size ?? 0) > MAX_MODEL_FILE_BYTES) {
      next(new Error(`${MODEL_FILE_NAME} is larger than ${MAX_MODEL_FILE_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      found = Buffer.concat(chunks);
      next();
    });
  });
  try {
    await pipeline(createReadStream(archivePath), createGunzip({ maxOutputLength: MAX_MODEL_FILE_BYTES * 2 }), untar);
  } catch (error) {
    throw new Error(`cannot read model archive: ${(error as Error).message}`);
  }
  if (!found) throw new Error(`model archive has no ${MODEL_FILE_NAME} file at its top level`);
  return found;
}
