/**
 * text/csv as SageMaker's XGBoost container reads and writes it: no header, one row per line,
 * comma-separated numbers, an empty field is a missing value; one prediction per output line,
 * with multi:softprob's class probabilities comma-separated.
 */
import type { Prediction } from './predict.js';

export class CsvInputError extends Error {
  override name = 'CsvInputError';
}

/** A number as CSV allows it here: optional sign, digits, fraction, exponent, or nan/inf. */
const NUMBER = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf|infinity)$/i;

export function parseCsvRows(text: string, numFeature: number): Float64Array[] {
  const rows: Float64Array[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const fields = line.split(',');
    if (fields.length !== numFeature) {
      throw new CsvInputError(`row ${index + 1} has ${fields.length} fields; the model expects ${numFeature} features`);
    }
    const row = new Float64Array(numFeature);
    fields.forEach((field, column) => {
      const trimmed = field.trim();
      if (trimmed === '') {
        row[column] = NaN;
        return;
      }
      if (!NUMBER.test(trimmed)) {
        throw new CsvInputError(`row ${index + 1}, column ${column + 1}: "${trimmed.slice(0, 32)}" is not a number`);
      }
      row[column] = /nan/i.test(trimmed) ? NaN : Number(trimmed.replace(/inf(inity)?/i, 'Infinity'));
    });
    rows.push(row);
  });
  if (rows.length === 0) throw new CsvInputError('no rows: send one CSV row per line');
  return rows;
}

export function formatCsvPredictions(predictions: Prediction[]): string {
  return predictions.map((p) => (Array.isArray(p) ? p.map(String).join(',') : String(p))).join('\n') + '\n';
}
