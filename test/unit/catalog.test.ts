import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelCatalog, catalogFileSchema, isValidTargetModel, loadCatalogFile } from '../../src/catalog.js';
import { GatewayError } from '../../src/errors.js';

const defaultColdEvidence = { baselineFactor: 5, baselineFloorMs: 1_000, firstCallMs: 1_000 };
const settings = { defaultEndpoint: 'prod-mme', defaultColdStartBudgetMs: 360_000, defaultColdEvidence };

function expectCode(fn: () => unknown, code: string) {
  assert.throws(fn, (error: unknown) => error instanceof GatewayError && error.code === code);
}

describe('catalog: default rule', () => {
  const catalog = new ModelCatalog(catalogFileSchema.parse({}), settings);

  it('maps churn to churn.tar.gz on the default endpoint', () => {
    assert.deepEqual(catalog.resolve('churn'), {
      name: 'churn',
      endpoint: 'prod-mme',
      targetModel: 'churn.tar.gz',
      coldStartBudgetMs: 360_000,
      warmup: undefined,
      coldEvidence: defaultColdEvidence,
    });
  });

  for (const bad of ['..', '.hidden', 'a..b', 'a/b', '/abs', '', 'x'.repeat(129), 'caf\u00e9', 'tab\there', 'nul\0', 'sp ace', '%2e%2e']) {
    it(`rejects the name ${JSON.stringify(bad)}`, () => expectCode(() => catalog.resolve(bad), 'INVALID_MODEL_NAME'));
  }

  it('resolves the SageMaker-compatible pair only for the default endpoint and .tar.gz names', () => {
    assert.equal(catalog.resolveTarget('prod-mme', 'churn.tar.gz').name, 'churn');
    expectCode(() => catalog.resolveTarget('other-mme', 'churn.tar.gz'), 'ENDPOINT_NOT_ALLOWED');
    expectCode(() => catalog.resolveTarget('prod-mme', 'churn/v2/model.tar.gz'), 'ENDPOINT_NOT_ALLOWED');
    expectCode(() => catalog.resolveTarget('prod-mme', '../secret.tar.gz'), 'INVALID_TARGET_MODEL');
    expectCode(() => catalog.resolveTarget('bad_endpoint!', 'churn.tar.gz'), 'INVALID_ENDPOINT_NAME');
  });
});

describe('catalog: file', () => {
  const file = catalogFileSchema.parse({
    policy: 'catalog-only',
    models: {
      fraud: { endpoint: 'risk-mme', targetModel: 'fraud/v7/model.tar.gz', coldStartBudgetSeconds: 90, warmup: { contentType: 'text/csv', body: '1,2' } },
      churn: {},
      slowpoke: { coldEvidence: { firstCallMs: 8_000, baselineFactor: 3 } },
    },
  });
  const catalog = new ModelCatalog(file, settings);

  it('maps a listed name to its endpoint, target path and budget', () => {
    const fraud = catalog.resolve('fraud');
    assert.equal(fraud.endpoint, 'risk-mme');
    assert.equal(fraud.targetModel, 'fraud/v7/model.tar.gz');
    assert.equal(fraud.coldStartBudgetMs, 90_000);
    assert.deepEqual(fraud.warmup, { contentType: 'text/csv', body: '1,2' });
    assert.equal(catalog.resolve('churn').targetModel, 'churn.tar.gz');
  });

  it('overrides the cold-evidence thresholds per model and keeps the defaults for the rest', () => {
    assert.deepEqual(catalog.resolve('slowpoke').coldEvidence, { baselineFactor: 3, baselineFloorMs: 1_000, firstCallMs: 8_000 });
    assert.deepEqual(catalog.resolve('churn').coldEvidence, defaultColdEvidence);
    assert.throws(() => catalogFileSchema.parse({ models: { x: { coldEvidence: { baselineFactor: 0.5 } } } }));
  });

  it('answers MODEL_NOT_FOUND for unlisted names under catalog-only', () => {
    expectCode(() => catalog.resolve('unlisted'), 'MODEL_NOT_FOUND');
    expectCode(() => catalog.resolveTarget('prod-mme', 'unlisted.tar.gz'), 'ENDPOINT_NOT_ALLOWED');
  });

  it('resolves listed (endpoint, target) pairs for the SageMaker-compatible route', () => {
    assert.equal(catalog.resolveTarget('risk-mme', 'fraud/v7/model.tar.gz').name, 'fraud');
  });

  it('loads YAML and JSON files and names the bad field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
    writeFileSync(join(dir, 'c.yaml'), 'policy: catalog-only\nmodels:\n  fraud:\n    endpoint: risk-mme\n');
    assert.equal(loadCatalogFile(join(dir, 'c.yaml')).models['fraud']?.endpoint, 'risk-mme');
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ models: { x: { targetModel: '../escape.tar.gz' } } }));
    assert.throws(() => loadCatalogFile(join(dir, 'c.json')), /models\.x\.targetModel/);
    writeFileSync(join(dir, 'u.json'), JSON.stringify({ models: { x: { unknownKey: 1 } } }));
    assert.throws(() => loadCatalogFile(join(dir, 'u.json')), /unknownKey|Unrecognized/);
    assert.throws(() => loadCatalogFile(join(dir, 'missing.json')), /cannot read/);
  });

  it('refuses the default rule without a default endpoint', () => {
    assert.throws(() => new ModelCatalog(catalogFileSchema.parse({}), { ...settings, defaultEndpoint: undefined }), /default-rule/);
  });
});

describe('target model validation', () => {
  it('accepts nested relative paths and rejects escapes, control characters and overlong paths', () => {
    assert.ok(isValidTargetModel('team/a/model.tar.gz'));
    assert.ok(isValidTargetModel('x'.repeat(1024)));
    for (const bad of ['x'.repeat(1025), '/etc/passwd', 'a/../b', './a', 'a\\b', 'a\nb', ' lead', 'caf\u00e9', '']) {
      assert.equal(isValidTargetModel(bad), false, JSON.stringify(bad));
    }
  });
});
