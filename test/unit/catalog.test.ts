import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ModelCatalog, catalogFileSchema, isValidTargetModel, loadCatalogFile } from '../../src/catalog.js';
import { DEFAULT_UPSTREAM, upstreamRef } from '../../src/catalog-targets.js';
import { GatewayError } from '../../src/errors.js';

const defaultColdEvidence = { baselineFactor: 5, baselineFloorMs: 1_000, firstCallMs: 1_000 };
const settings = { defaultEndpoint: 'prod-mme', defaultColdStartBudgetMs: 360_000, defaultComponentBudgetMs: 600_000, defaultColdEvidence };

function expectCode(fn: () => unknown, code: string) {
  assert.throws(fn, (error: unknown) => error instanceof GatewayError && error.code === code);
}

describe('catalog: default rule', () => {
  const catalog = new ModelCatalog(catalogFileSchema.parse({}), settings);

  it('maps churn to churn.tar.gz on the default endpoint', () => {
    const churn = catalog.resolve('churn');
    const target = {
      label: 'primary',
      endpoint: 'prod-mme',
      targetModel: 'churn.tar.gz',
      address: { endpointName: 'prod-mme', targetModel: 'churn.tar.gz', inferenceComponent: undefined, targetContainerHostname: undefined, targetVariant: undefined },
      upstream: DEFAULT_UPSTREAM,
      coldStartBudgetMs: 360_000,
    };
    assert.deepEqual(churn, { ...target, name: 'churn', warmup: undefined, coldEvidence: defaultColdEvidence, targets: [target], preferWarm: false, keepWarm: undefined });
  });

  for (const bad of ['..', '.hidden', 'a..b', 'a/b', '/abs', '', 'x'.repeat(129), 'caf\u00e9', 'tab\there', 'nul\0', 'sp ace', '%2e%2e']) {
    it(`rejects the name ${JSON.stringify(bad)}`, () => expectCode(() => catalog.resolve(bad), 'INVALID_MODEL_NAME'));
  }

  it('resolves the SageMaker-compatible pair only for the default endpoint and .tar.gz names', () => {
    assert.equal(catalog.resolveTarget('prod-mme', { targetModel: 'churn.tar.gz', inferenceComponent: undefined }).name, 'churn');
    expectCode(() => catalog.resolveTarget('other-mme', { targetModel: 'churn.tar.gz', inferenceComponent: undefined }), 'ENDPOINT_NOT_ALLOWED');
    expectCode(() => catalog.resolveTarget('prod-mme', { targetModel: 'churn/v2/model.tar.gz', inferenceComponent: undefined }), 'ENDPOINT_NOT_ALLOWED');
    expectCode(() => catalog.resolveTarget('prod-mme', { targetModel: '../secret.tar.gz', inferenceComponent: undefined }), 'INVALID_TARGET_MODEL');
    expectCode(() => catalog.resolveTarget('bad_endpoint!', { targetModel: 'churn.tar.gz', inferenceComponent: undefined }), 'INVALID_ENDPOINT_NAME');
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
    expectCode(() => catalog.resolveTarget('prod-mme', { targetModel: 'unlisted.tar.gz', inferenceComponent: undefined }), 'ENDPOINT_NOT_ALLOWED');
  });

  it('resolves listed (endpoint, target) pairs for the SageMaker-compatible route', () => {
    assert.equal(catalog.resolveTarget('risk-mme', { targetModel: 'fraud/v7/model.tar.gz', inferenceComponent: undefined }).name, 'fraud');
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

describe('catalog: inference components, fallbacks and keep-warm', () => {
  const catalog = new ModelCatalog(
    catalogFileSchema.parse({
      policy: 'catalog-only',
      models: {
        llm: { endpoint: 'ic-endpoint', inferenceComponent: 'llm-ic', targetContainerHostname: 'llm-container', targetVariant: 'blue' },
        fraud: {
          preferWarm: true,
          keepWarm: { intervalSeconds: 240 },
          coldStartBudgetSeconds: 120,
          targets: [
            { endpoint: 'mme-a', targetModel: 'fraud.tar.gz' },
            { name: 'dr', endpoint: 'mme-b', region: 'eu-west-1', credentialsProfile: 'dr-account', targetModel: 'fraud.tar.gz', coldStartBudgetSeconds: 30 },
            { endpoint: 'risk-ic-endpoint', inferenceComponent: 'fraud-ic', runtimeUrl: 'https://vpce.example.com' },
          ],
        },
      },
    }),
    settings,
  );

  it('addresses an inference component instead of a TargetModel, with the longer default budget', () => {
    const llm = catalog.resolve('llm');
    assert.equal(llm.endpoint, 'ic-endpoint');
    assert.equal(llm.targetModel, 'inference-component/llm-ic', 'its identity in state and logs');
    assert.deepEqual(llm.address, { endpointName: 'ic-endpoint', targetModel: undefined, inferenceComponent: 'llm-ic', targetContainerHostname: 'llm-container', targetVariant: 'blue' });
    assert.equal(llm.coldStartBudgetMs, 600_000);
  });

  it('lists targets in priority order with labels, upstreams and budgets', () => {
    const fraud = catalog.resolve('fraud');
    assert.deepEqual(fraud.targets.map((t) => t.label), ['primary', 'dr', 'fallback-2']);
    assert.equal(fraud.endpoint, 'mme-a', 'the model itself reads as its primary');
    assert.deepEqual(fraud.targets[1]?.upstream, upstreamRef('eu-west-1', undefined, 'dr-account'));
    assert.deepEqual(fraud.targets.map((t) => t.coldStartBudgetMs), [120_000, 30_000, 120_000]);
    assert.equal(fraud.preferWarm, true);
    assert.deepEqual(fraud.keepWarm, { intervalMs: 240_000 });
  });

  it('resolves every target pair, components included, for the SageMaker-compatible route', () => {
    assert.equal(catalog.resolveTarget('mme-b', { targetModel: 'fraud.tar.gz', inferenceComponent: undefined }).name, 'fraud');
    assert.equal(catalog.resolveTarget('ic-endpoint', { targetModel: undefined, inferenceComponent: 'llm-ic' }).name, 'llm');
    expectCode(() => catalog.resolveTarget('ic-endpoint', { targetModel: undefined, inferenceComponent: 'other-ic' }), 'ENDPOINT_NOT_ALLOWED');
    expectCode(() => catalog.resolveTarget('mme-a', { targetModel: undefined, inferenceComponent: 'llm-ic' }), 'ENDPOINT_NOT_ALLOWED');
    expectCode(
      () => catalog.resolveTarget('ic-endpoint', { targetModel: 'inference-component/llm-ic', inferenceComponent: undefined }),
      'ENDPOINT_NOT_ALLOWED',
    );
  });

  it('keeps one endpoint name on two upstreams apart (state, breakers, metrics), and sends the plain name', () => {
    const twice = new ModelCatalog(
      catalogFileSchema.parse({
        policy: 'catalog-only',
        models: {
          a: { endpoint: 'fraud-mme' },
          b: { targets: [{ endpoint: 'fraud-mme' }, { endpoint: 'fraud-mme', region: 'eu-west-1', credentialsProfile: 'dr' }] },
          c: { endpoint: 'fraud-mme', runtimeUrl: 'http://127.0.0.1:9000' },
        },
      }),
      settings,
    );
    assert.deepEqual(twice.resolve('b').targets.map((t) => t.endpoint), ['fraud-mme', 'fraud-mme@eu-west-1/dr']);
    assert.equal(twice.resolve('c').endpoint, 'fraud-mme@127.0.0.1:9000');
    assert.ok(twice.resolve('b').targets.every((t) => t.address.endpointName === 'fraud-mme'));
  });

  for (const [what, entry, message] of [
    ['both addresses', { targetModel: 'a.tar.gz', inferenceComponent: 'a-ic' }, /not both/],
    ['targets and own fields', { endpoint: 'e', targets: [{ endpoint: 'f' }] }, /either targets/],
    ['duplicate target names', { targets: [{ name: 'x', endpoint: 'e' }, { name: 'x', endpoint: 'f' }] }, /unique/],
    ['a bad component name', { inferenceComponent: 'bad_name' }, /inference component/],
    ['a bad hostname', { targetContainerHostname: '-x' }, /container hostname/],
    ['a bad region', { region: 'mars' }, /region/],
    ['a runtime URL that is not http(s)', { runtimeUrl: 'file:///etc/passwd' }, /runtimeUrl/],
    ['a zero keep-warm interval', { keepWarm: { intervalSeconds: 0 } }, /intervalSeconds/],
  ] as const) {
    it(`refuses ${what}`, () => {
      const parsed = catalogFileSchema.safeParse({ models: { m: entry } });
      assert.equal(parsed.success, false);
      assert.match(JSON.stringify(parsed.error?.issues), message);
    });
  }
});

describe('catalog: the documented example', () => {
  it('loads docs/catalog.example.yaml with all three features', () => {
    const example = new ModelCatalog(loadCatalogFile(fileURLToPath(new URL('../../docs/catalog.example.yaml', import.meta.url))), settings);
    assert.deepEqual(example.resolve('churn').keepWarm, { intervalMs: 240_000 });
    assert.equal(example.resolve('summarizer').address.inferenceComponent, 'summarizer-ic');
    assert.deepEqual(example.resolve('fraud').targets.map((t) => t.label), ['primary', 'dr', 'components']);
  });
});

describe('catalog: a listed target is reachable only under its listed names', () => {
  const catalog = new ModelCatalog(
    catalogFileSchema.parse({ models: { secret: { targetModel: 'secret-v2.tar.gz' }, 'secret-latest': { targetModel: 'secret-v2.tar.gz' } } }),
    settings,
  );

  it("refuses the default rule's spelling of a listed archive", () => {
    expectCode(() => catalog.resolve('secret-v2'), 'MODEL_NOT_FOUND');
    assert.equal(catalog.resolve('secret').targetModel, 'secret-v2.tar.gz');
    assert.equal(catalog.resolve('other').targetModel, 'other.tar.gz');
  });

  it('gives every name that reaches a wire target, for the access decision', () => {
    const wire = (targetModel: string) => {
      const target = { targetModel, inferenceComponent: undefined };
      return catalog.namesReaching('prod-mme', target, catalog.resolveTarget('prod-mme', target));
    };
    assert.deepEqual(wire('secret-v2.tar.gz'), ['secret', 'secret-latest']);
    assert.deepEqual(wire('other.tar.gz'), ['other']);
  });

  it('does not let a name reach a model it only shares a fallback target with', () => {
    const shared = new ModelCatalog(
      catalogFileSchema.parse({
        policy: 'catalog-only',
        models: {
          b: { targets: [{ endpoint: 'prod-mme', targetModel: 't2.tar.gz' }, { endpoint: 'prod-mme', targetModel: 't3.tar.gz' }] },
          a: { targets: [{ endpoint: 'prod-mme', targetModel: 't1.tar.gz' }, { endpoint: 'prod-mme', targetModel: 't2.tar.gz' }] },
        },
      }),
      settings,
    );
    const target = { targetModel: 't2.tar.gz', inferenceComponent: undefined };
    const served = shared.resolveTarget('prod-mme', target);
    assert.equal(served.name, 'b');
    assert.deepEqual(shared.namesReaching('prod-mme', target, served), ['b'], 'a key listing only a cannot be served by b (and its t3)');
    assert.equal(catalog.listsTarget('prod-mme', 'secret-v2.tar.gz'), true);
    assert.equal(catalog.listsTarget('prod-mme', 'other.tar.gz'), false);
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
