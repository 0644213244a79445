/**
 * The local XGBoost runtime against XGBoost itself: Debian's python3-xgboost trains one model
 * per supported objective (with missing values), predicts held-out rows, and the local runtime
 * must give the same answers to 1e-6. Also the container-like input rules and the shipped
 * sample models.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULT_MODEL_DIR } from '../../src/local-mme/config.js';
import type { InferenceResult, LoadedModel } from '../../src/local-mme/model-runtime.js';
import { loadXgboostModel } from '../../src/local-mme/xgboost-loader.js';
import { supportedObjectives } from '../../src/local-mme/xgboost/model.js';

const TOLERANCE = 1e-6;
const fixture = new URL('../fixtures/train-reference-models.py', import.meta.url).pathname;

function csvOf(result: InferenceResult): string {
  assert.ok(result.ok, result.ok ? '' : result.message);
  assert.equal(result.contentType, 'text/csv');
  return result.body.toString();
}

function invokeCsv(model: LoadedModel, body: string, contentType: string | undefined = 'text/csv', accept?: string) {
  return model.invoke({ body: Buffer.from(body), contentType, accept });
}

describe('XGBoost runtime parity with XGBoost', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xgb-parity-'));
    await promisify(execFile)('/usr/bin/python3', [fixture, dir], { timeout: 120_000 });
  });

  for (const objective of supportedObjectives) {
    it(`matches XGBoost's predictions for ${objective}`, async () => {
      const name = objective.replace(':', '-');
      const model = await loadXgboostModel(join(dir, `${name}.tar.gz`));
      const expected = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Array<number | number[]>;
      const lines = csvOf(invokeCsv(model, readFileSync(join(dir, `${name}.csv`), 'utf8'))).trimEnd().split('\n');
      assert.equal(lines.length, expected.length);
      let maxDiff = 0;
      lines.forEach((line, i) => {
        const actual = line.split(',').map(Number);
        const want = [expected[i]!].flat();
        assert.equal(actual.length, want.length, `row ${i} width`);
        actual.forEach((value, k) => {
          maxDiff = Math.max(maxDiff, Math.abs(value - want[k]!));
        });
      });
      assert.ok(maxDiff <= TOLERANCE, `${objective}: max |difference| ${maxDiff}`);
    });
  }

  it('reads missing values, CRLF and blank lines like the container, and refuses bad input with 4xx', async () => {
    const model = await loadXgboostModel(join(dir, 'binary-logistic.tar.gz'));
    const two = csvOf(invokeCsv(model, '1,2,0.1,3,,,\r\n\r\n,,,,,,\n')).trimEnd().split('\n');
    assert.equal(two.length, 2);
    assert.equal(csvOf(invokeCsv(model, '1,2,0.1,3,,,', undefined)), `${two[0]}\n`, 'no content type reads as CSV');
    assert.equal(csvOf(invokeCsv(model, '1,2,0.1,3,,,', 'text/csv; charset=utf-8', 'text/csv')), `${two[0]}\n`);
    const refusals: Array<[string, string | undefined, string | undefined, number]> = [
      ['1,2,3', 'text/csv', undefined, 400],
      ['1,2,x,3,4,5,6', 'text/csv', undefined, 400],
      ['', 'text/csv', undefined, 400],
      ['{"instances":[[1,2,3]]}', 'application/json', undefined, 415],
      ['1,2,0.1,3,,,', 'text/csv', 'application/json', 406],
    ];
    for (const [body, type, accept, status] of refusals) {
      const result = invokeCsv(model, body, type, accept);
      assert.equal(result.ok, false, body);
      if (!result.ok) assert.equal(result.status, status, `${body} ${type} ${accept}: ${result.message}`);
    }
    const notUtf8 = model.invoke({ body: Buffer.from([0xff, 0xfe, 0x31]), contentType: 'text/csv', accept: undefined });
    assert.equal(notUtf8.ok ? 0 : notUtf8.status, 400);
  });

  it('refuses archives without a readable xgboost-model', async () => {
    const notGzip = join(dir, 'not-gzip.tar.gz');
    writeFileSync(notGzip, 'plain text');
    await assert.rejects(loadXgboostModel(notGzip), /cannot read model archive/);
    const emptyTar = join(dir, 'empty.tar.gz');
    writeFileSync(emptyTar, gzipSync(Buffer.alloc(1024)));
    await assert.rejects(loadXgboostModel(emptyTar), /no xgboost-model/);
    await assert.rejects(loadXgboostModel(join(dir, 'absent.tar.gz')), /cannot read model archive/);
  });

  it('serves the shipped sample models', async () => {
    const samples: Array<[string, string, (out: number[]) => boolean]> = [
      ['churn.tar.gz', '12,70.5,3,1,0,1', ([p]) => p! > 0 && p! < 1],
      ['iris.tar.gz', '5.1,3.5,1.4,0.2', (p) => p.length === 3 && Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-6 && p[0]! > 0.5],
      ['house-prices.tar.gz', '1200,3,2,15,1', ([price]) => price! > 100 && price! < 500],
    ];
    for (const [file, row, plausible] of samples) {
      const model = await loadXgboostModel(join(DEFAULT_MODEL_DIR, file));
      const out = csvOf(invokeCsv(model, row)).trim().split(',').map(Number);
      assert.ok(plausible(out), `${file}: ${out.join(',')}`);
    }
  });
});
