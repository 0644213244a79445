/**
 * Checks real responses against openapi.yaml: the status is documented for the operation,
 * the content type is documented, the body validates against its schema (ajv, JSON Schema
 * 2020-12 as OpenAPI 3.1 uses), and required headers are present and valid. Any test that
 * sees a response can call assertMatchesSpec, so the spec cannot drift from what the code does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './gateway-process.js';

type Json = Record<string, unknown>;

export const openApiDocument = parseYaml(readFileSync(`${repoRoot}/openapi.yaml`, 'utf8')) as Json;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
addFormats(ajv);
// The whole document is one schema resource, so `#/components/...` refs inside it resolve.
ajv.addSchema(openApiDocument, 'openapi');

function pointer(segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

/** Follows a local $ref (`#/components/...`), returning the object and its JSON pointer path. */
function deref(value: Json, path: string[]): { value: Json; path: string[] } {
  const ref = value['$ref'];
  if (typeof ref !== 'string') return { value, path };
  const refPath = ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let target: unknown = openApiDocument;
  for (const segment of refPath) target = (target as Json)[segment];
  assert.ok(target && typeof target === 'object', `openapi.yaml: dangling $ref ${ref}`);
  return deref(target as Json, refPath);
}

export interface SeenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined> | Headers;
  /** The raw body text. */
  text: string;
}

function header(response: SeenResponse, name: string): string | undefined {
  if (response.headers instanceof Headers) return response.headers.get(name) ?? undefined;
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function validate(schemaPath: string[], value: unknown, what: string): void {
  const ref = `openapi#/${pointer(schemaPath)}`;
  const check = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  assert.ok(check(value), `${what} does not match the spec: ${ajv.errorsText(check.errors)}`);
}

/** Checks one documented response object (headers, content type, body) against what was seen. */
function assertMatchesResponse(documentedAt: { value: Json; path: string[] }, response: SeenResponse, where: string): void {
  for (const [name, spec] of Object.entries((documentedAt.value['headers'] ?? {}) as Json)) {
    const resolved = deref(spec as Json, [...documentedAt.path, 'headers', name]);
    const value = header(response, name);
    if (resolved.value['required'] === true) assert.ok(value !== undefined, `${where}: header ${name} missing`);
    if (value !== undefined) validate([...resolved.path, 'schema'], value, `${where}: header ${name}`);
  }

  const content = documentedAt.value['content'] as Json | undefined;
  if (!content) return;
  const mediaType = (header(response, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const key = mediaType in content ? mediaType : '*/*' in content ? '*/*' : undefined;
  assert.ok(key, `${where}: content type "${mediaType}" not documented (${Object.keys(content).join(', ')})`);
  let body: unknown = response.text;
  if (/[/+]json$/.test(mediaType)) {
    try {
      body = JSON.parse(response.text);
    } catch {
      assert.fail(`${where}: ${mediaType} body is not JSON: ${response.text.slice(0, 200)}`);
    }
  }
  validate([...documentedAt.path, 'content', key, 'schema'], body, `${where}: body`);

  if (mediaType === 'application/problem+json') {
    // What the Problem schema's descriptions promise but a schema cannot say.
    const problem = body as { status: number; code: string; type: string; requestId: string };
    assert.equal(problem.status, response.status, `${where}: problem status differs from the HTTP status`);
    assert.equal(problem.type, `urn:mme-gateway:problem:${problem.code}`, `${where}: problem type differs from its code`);
    assert.equal(problem.requestId, header(response, 'x-request-id'), `${where}: problem requestId differs from X-Request-Id`);
  }
}

/** Asserts `response` to `method pathTemplate` (e.g. 'post', '/models/{model}/predict') is documented. */
export function assertMatchesSpec(method: string, pathTemplate: string, response: SeenResponse): void {
  const where = `${method.toUpperCase()} ${pathTemplate} → ${response.status}`;
  const paths = openApiDocument['paths'] as Json;
  const operation = (paths[pathTemplate] as Json | undefined)?.[method.toLowerCase()] as Json | undefined;
  assert.ok(operation, `${method.toUpperCase()} ${pathTemplate} is not in openapi.yaml`);
  const responses = operation['responses'] as Json;
  const statusKey = [String(response.status), `${String(response.status)[0]}XX`].find((key) => key in responses);
  assert.ok(statusKey, `${where}: status not documented (${response.text.slice(0, 200)})`);
  assertMatchesResponse(deref(responses[statusKey] as Json, ['paths', pathTemplate, method.toLowerCase(), 'responses', statusKey]), response, where);
}

/** The documented path template a concrete path (no query) falls under, if any. */
export function pathTemplateOf(path: string): string | undefined {
  return Object.keys(openApiDocument['paths'] as Json).find((template) => {
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
    return new RegExp(`^${pattern}$`).test(path);
  });
}

/**
 * Asserts a response to `method path` (a concrete path, e.g. '/models/churn/predict') matches
 * its documented operation, or, when no operation covers that method and path, the spec's
 * NoRoute response (404 NOT_FOUND).
 */
export function assertRequestMatchesSpec(method: string, path: string, response: SeenResponse): void {
  const template = pathTemplateOf(path);
  const item = template === undefined ? undefined : ((openApiDocument['paths'] as Json)[template] as Json);
  if (template !== undefined && item?.[method.toLowerCase()] !== undefined) {
    assertMatchesSpec(method, template, response);
    return;
  }
  const where = `${method.toUpperCase()} ${path} (no operation) → ${response.status}`;
  assert.equal(response.status, 404, `${where}: an unmatched request must be 404`);
  assertMatchesResponse(deref({ $ref: '#/components/responses/NoRoute' }, []), response, where);
}
