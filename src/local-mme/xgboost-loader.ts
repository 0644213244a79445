/**
 * The local MME's model runtime for XGBoost: loads `xgboost-model` (JSON format) from a
 * SageMaker model archive and answers text/csv like SageMaker's XGBoost container. Errors a
 * container would answer with a 4xx (bad input, unsupported media type) come back as such, so
 * SageMaker's ModelError carries them to the caller.
 */
import { parse as parseContentType } from 'content-type';
import { readModelFile } from './model-archive.js';
import type { InferenceResult, InvocationInput, LoadedModel, ModelLoader } from './model-runtime.js';
import { CsvInputError, formatCsvPredictions, parseCsvRows } from './xgboost/csv.js';
import { modelMemoryBytes, parseXgboostModel, type XgboostModel } from './xgboost/model.js';
import { predictRow } from './xgboost/predict.js';

const CSV = 'text/csv';

function mediaType(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  try {
    return parseContentType(header).type;
  } catch {
    return 'invalid';
  }
}

/** Accept must allow text/csv: absent, a wildcard, or a list naming it. */
function acceptsCsv(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => ['text/csv', 'text/*', '*/*'].includes(part.split(';')[0]!.trim().toLowerCase()));
}

function invoke(model: XgboostModel, input: InvocationInput): InferenceResult {
  // The container's default content type is text/csv, so a request without one is read as CSV.
  const type = mediaType(input.contentType) ?? CSV;
  if (type !== CSV) return { ok: false, status: 415, message: `Content type ${input.contentType ?? ''} is not supported; this model reads text/csv.` };
  if (!acceptsCsv(input.accept)) return { ok: false, status: 406, message: `Accept ${input.accept ?? ''} cannot be satisfied; this model answers text/csv.` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(input.body);
  } catch {
    return { ok: false, status: 400, message: 'The body is not valid UTF-8 text.' };
  }
  try {
    const rows = parseCsvRows(text, model.numFeature);
    return { ok: true, body: formatCsvPredictions(rows.map((row) => predictRow(model, row))), contentType: CSV };
  } catch (error) {
    if (error instanceof CsvInputError) return { ok: false, status: 400, message: `Unable to parse the CSV input: ${error.message}.` };
    throw error;
  }
}

export const loadXgboostModel: ModelLoader = async (archivePath: string): Promise<LoadedModel> => {
  const model = parseXgboostModel((await readModelFile(archivePath)).toString('utf8'));
  return {
    memoryBytes: modelMemoryBytes(model),
    invoke: (input) => invoke(model, input),
  };
};
