/**
 * The gateway's InvokeEndpoint signer against two reference SigV4 implementations, byte for
 * byte: @smithy/signature-v4 (the AWS SDK for JavaScript's, configured as the SDK-based lean
 * transport used it) and botocore's SigV4Auth (Debian's python3-botocore, one batched call).
 * The cases cover every combination of optional headers and session token, nested and odd
 * TargetModel paths, endpoint names that need (double) URI encoding, header values with runs
 * of spaces and tabs, an empty and a 6 MiB body, several regions, hosts and dates, and
 * credentials that change between requests on one signer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalHeaderValue, canonicalPath, createInvocationSigner, type InvocationSigner, type SigningCredentials } from '../../src/invoke/invocation-signer.js';
import type { InvokeEndpointParams } from '../../src/invoke/transport.js';
import { MAX_BODY_BYTES } from '../../src/sagemaker-wire.js';

const botocoreSigner = new URL('../fixtures/botocore-sigv4.py', import.meta.url).pathname;

interface Case {
  name: string;
  region: string;
  baseUrl: string;
  epochMs: number;
  credentials: SigningCredentials;
  params: InvokeEndpointParams;
}

const regions = ['us-east-1', 'eu-west-1', 'cn-north-1', 'us-gov-west-1', 'ap-southeast-2'];
const baseUrls = [
  'https://runtime.sagemaker.eu-west-1.amazonaws.com',
  'http://127.0.0.1:8081',
  'https://vpce-0abc.runtime.sagemaker.eu-west-1.vpce.amazonaws.com:8443/prefix/',
  'http://localhost:80',
];
const endpoints = ['local-mme', 'churn-prod-1', 'A', 'name with space', 'a/b', 'it\'s(1)*!', '~tilde_.-', 'a%2Fb', 'ünï', 'a+b=c'];
const targetModels = [
  'churn.tar.gz',
  'team/a/churn.tar.gz',
  'deep/nested/path/to/model-v2.tar.gz',
  'dir with  spaces/model.tar.gz',
  'café/modèle.tar.gz',
  'trailing-space.tar.gz ',
];
const customAttributes = ['trace=abc', 'a=1;  b=2', '  leading and trailing  ', 'tab\tseparated\t\tvalue', 'x', ''];
const contentTypes = [undefined, 'text/csv', 'application/json; charset=utf-8', 'application/x-npy', ' text/csv '];
const accepts = ['text/csv', 'application/json', '*/*', 'text/csv;  q=0.9'];
const tokens = ['IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/with+slashes==', 'short-token'];
const dates = [
  Date.UTC(2026, 10, 25, 9, 30, 0, 0),
  Date.UTC(2026, 10, 25, 23, 59, 59, 999), // milliseconds are truncated, not rounded into the next day
  Date.UTC(2026, 10, 26, 0, 0, 0, 1),
  Date.UTC(2024, 1, 29, 12, 0, 0, 500),
  Date.UTC(2030, 0, 1, 0, 0, 0, 0),
];
const bodies = [
  new TextEncoder().encode('12,70.5,3,1,0,1\n60,20,0,0,1,0'),
  new TextEncoder().encode('{"instances":[[1,2,3]]}'),
  new Uint8Array(randomBytes(4096)),
];

function cases(): Case[] {
  const all: Case[] = [];
  let i = 0;
  const pick = <T>(list: T[], salt: number): T => list[(i * 7 + salt) % list.length]!;
  // Bits: accept, custom attributes, inference id, target variant, session token.
  for (let mask = 0; mask < 32; mask++) {
    for (let variant = 0; variant < 4; variant++, i++) {
      all.push({
        name: `mask ${mask} variant ${variant}`,
        region: pick(regions, variant),
        baseUrl: pick(baseUrls, mask),
        epochMs: pick(dates, variant + mask),
        credentials: {
          accessKeyId: `AKIDEXAMPLE${variant % 2}`,
          secretAccessKey: variant % 3 === 0 ? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' : 'other/secret+key',
          ...(mask & 16 ? { sessionToken: pick(tokens, variant) } : {}),
        },
        params: {
          endpoint: pick(endpoints, mask + variant),
          targetModel: pick(targetModels, variant * 3 + mask),
          body: pick(bodies, mask + variant * 5),
          contentType: pick(contentTypes, mask + variant),
          accept: mask & 1 ? pick(accepts, variant) : undefined,
          customAttributes: mask & 2 ? pick(customAttributes, mask + variant) : undefined,
          inferenceId: mask & 4 ? `inf-${i}` : undefined,
          targetVariant: mask & 8 ? (variant % 2 ? 'AllTraffic' : 'variant  B') : undefined,
        },
      });
    }
  }
  // Inference-component calls: the component header (and a container hostname) instead of TargetModel.
  for (let mask = 0; mask < 4; mask++, i++) {
    const base = all[mask * 4]!;
    all.push({
      ...base,
      name: `inference component, mask ${mask}`,
      params: {
        ...base.params,
        targetModel: undefined,
        inferenceComponent: `component-${mask}`,
        targetContainerHostname: mask & 1 ? 'container-a' : undefined,
        targetVariant: mask & 2 ? 'AllTraffic' : undefined,
      },
    });
  }
  const base = all[0]!;
  all.push({ ...base, name: 'empty body', params: { ...base.params, body: new Uint8Array(0) } });
  all.push({ ...base, name: '6 MiB body', params: { ...base.params, body: new Uint8Array(randomBytes(MAX_BODY_BYTES)) } });
  return all;
}

/** What the lean transport handed @smithy/signature-v4 before it had its own signer. */
async function smithySign(c: Case): Promise<{ url: string; headers: Record<string, string> }> {
  const base = new URL(c.baseUrl);
  const path = `${base.pathname.replace(/\/$/, '')}/endpoints/${encodeURIComponent(c.params.endpoint)}/invocations`;
  const headers: Record<string, string> = {
    host: base.host,
    'content-type': c.params.contentType ?? 'application/octet-stream',
    'content-length': String(c.params.body.byteLength),
  };
  if (c.params.targetModel !== undefined) headers['x-amzn-sagemaker-target-model'] = c.params.targetModel;
  if (c.params.inferenceComponent !== undefined) headers['x-amzn-sagemaker-inference-component'] = c.params.inferenceComponent;
  if (c.params.targetContainerHostname !== undefined) headers['x-amzn-sagemaker-target-container-hostname'] = c.params.targetContainerHostname;
  if (c.params.accept !== undefined) headers['accept'] = c.params.accept;
  if (c.params.customAttributes !== undefined) headers['x-amzn-sagemaker-custom-attributes'] = c.params.customAttributes;
  if (c.params.inferenceId !== undefined) headers['x-amzn-sagemaker-inference-id'] = c.params.inferenceId;
  if (c.params.targetVariant !== undefined) headers['x-amzn-sagemaker-target-variant'] = c.params.targetVariant;
  const signer = new SignatureV4({ service: 'sagemaker', region: c.region, credentials: c.credentials, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path,
      query: {},
      headers,
      body: c.params.body,
    },
    { signingDate: new Date(c.epochMs) },
  );
  return { url: `${base.origin}${path}`, headers: signed.headers };
}

interface BotocoreResult {
  headers: Record<string, string>;
  payload_sha256: string;
}

/** One python3 process signs every case (a process per case would cost seconds). */
async function botocoreSign(all: Case[], urls: string[], unsigned: Record<string, string>[]): Promise<BotocoreResult[]> {
  const input = JSON.stringify(
    all.map((c, index) => ({
      url: urls[index],
      region: c.region,
      headers: unsigned[index],
      body_b64: Buffer.from(c.params.body).toString('base64'),
      access_key: c.credentials.accessKeyId,
      secret_key: c.credentials.secretAccessKey,
      token: c.credentials.sessionToken ?? null,
      epoch_ms: c.epochMs,
    })),
  );
  const child = spawn('/usr/bin/python3', [botocoreSigner], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end(input);
  const code = await exit;
  assert.equal(code, 0, Buffer.concat(err).toString());
  return JSON.parse(Buffer.concat(out).toString()) as BotocoreResult[];
}

const GENERATED = new Set(['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'host']);
const sorted = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).sort(([a], [b]) => a.localeCompare(b)));

describe('invocation signer ≡ @smithy/signature-v4 ≡ botocore SigV4Auth', () => {
  const all = cases();
  const ours: Array<{ origin: string; path: string; headers: Record<string, string> }> = [];

  before(async () => {
    // One signer per (region, base URL), reused across cases in this order so its caches
    // (day key, signed-header lists, endpoint paths) see dates and secrets change under them.
    const signers = new Map<string, InvocationSigner>();
    let current: Case = all[0]!;
    for (const c of all) {
      current = c;
      const key = `${c.region} ${c.baseUrl}`;
      let signer = signers.get(key);
      if (!signer) {
        signer = createInvocationSigner({
          region: c.region,
          baseUrl: new URL(c.baseUrl),
          credentials: async () => current.credentials,
          now: () => current.epochMs,
        });
        signers.set(key, signer);
      }
      ours.push(await signer.sign(c.params));
    }
  });

  it(`matches smithy's headers and URL exactly (${all.length} requests)`, async () => {
    for (const [index, c] of all.entries()) {
      const reference = await smithySign(c);
      assert.equal(ours[index]!.origin + ours[index]!.path, reference.url, c.name);
      assert.deepEqual(sorted(ours[index]!.headers), sorted(reference.headers), c.name);
    }
  });

  it(`matches botocore's Authorization, X-Amz-Date, token and payload hash (${all.length} requests, one python3 call)`, async () => {
    const unsigned = ours.map((signed) => Object.fromEntries(Object.entries(signed.headers).filter(([name]) => !GENERATED.has(name))));
    const results = await botocoreSign(
      all,
      ours.map((signed) => signed.origin + signed.path),
      unsigned,
    );
    assert.equal(results.length, all.length);
    for (const [index, c] of all.entries()) {
      const { headers, payload_sha256 } = results[index]!;
      const signed = ours[index]!.headers;
      assert.equal(signed['authorization'], headers['authorization'], c.name);
      assert.equal(signed['x-amz-date'], headers['x-amz-date'], c.name);
      assert.equal(signed['x-amz-security-token'], headers['x-amz-security-token'], c.name);
      assert.equal(signed['x-amz-content-sha256'], payload_sha256, c.name);
    }
  });

  it('covers what it claims: every optional-header combination, both body extremes, encoded names', () => {
    const signedHeaderLists = new Set(ours.map((signed) => /SignedHeaders=([^,]+)/.exec(signed.headers['authorization']!)![1]));
    assert.equal(signedHeaderLists.size, 32 + 4, 'every TargetModel combination and four inference-component ones');
    assert.ok(ours.some((signed) => signed.headers['content-length'] === '0'));
    assert.ok(ours.some((signed) => signed.headers['content-length'] === String(MAX_BODY_BYTES)));
    assert.ok(ours.some((signed) => signed.path.includes('/endpoints/name%20with%20space/')));
    assert.ok(new Set(ours.map((signed) => signed.headers['x-amz-date']!.slice(0, 8))).size >= 4);
  });
});

describe('invocation signer: details', () => {
  it('asks the credential provider on every request, so refreshed keys are used at once', async () => {
    const issued: SigningCredentials[] = [
      { accessKeyId: 'AKIDOLD', secretAccessKey: 'old-secret', sessionToken: 'old-token' },
      { accessKeyId: 'AKIDNEW', secretAccessKey: 'new-secret', sessionToken: 'new-token' },
    ];
    let calls = 0;
    const signer = createInvocationSigner({
      region: 'eu-west-1',
      baseUrl: new URL('https://runtime.sagemaker.eu-west-1.amazonaws.com'),
      credentials: async () => issued[Math.min(calls++, 1)]!,
      now: () => Date.UTC(2026, 10, 25, 9, 30),
    });
    const params = cases()[0]!.params;
    const first = await signer.sign(params);
    const second = await signer.sign(params);
    assert.equal(calls, 2);
    assert.match(first.headers['authorization']!, /Credential=AKIDOLD\//);
    assert.equal(first.headers['x-amz-security-token'], 'old-token');
    assert.match(second.headers['authorization']!, /Credential=AKIDNEW\//);
    assert.equal(second.headers['x-amz-security-token'], 'new-token');
    assert.notEqual(first.headers['authorization']!.split('Signature=')[1], second.headers['authorization']!.split('Signature=')[1]);
  });

  it('rejects a provider answer without keys, as the SDK signer does', async () => {
    const signer = createInvocationSigner({
      region: 'eu-west-1',
      baseUrl: new URL('https://runtime.sagemaker.eu-west-1.amazonaws.com'),
      credentials: async () => ({}) as SigningCredentials,
    });
    await assert.rejects(signer.sign(cases()[0]!.params), /Resolved credential object is not valid/);
  });

  it('trims header values and double-encodes paths by SigV4 rules', () => {
    assert.equal(canonicalHeaderValue('  a   b\t\tc  '), 'a b c');
    assert.equal(canonicalHeaderValue('plain'), 'plain');
    assert.equal(canonicalPath('/endpoints/my%20ep/invocations'), '/endpoints/my%2520ep/invocations');
    assert.equal(canonicalPath('/a/./b/../c//endpoints/x/invocations'), '/a/c/endpoints/x/invocations');
  });
});
