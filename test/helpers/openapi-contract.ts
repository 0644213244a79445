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

const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
addFormats(ajv);
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
  const check = ajv.getSchema(`openapi#/${pointer(schemaPath)}`) ?? ajv.compile({ $ref: `openapi#/${pointer(schemaPath)}` });
  assert.ok(check(value), `${what} does not match the spec: ${ajv.errorsText(check.errors)}`);
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
  const documented = deref(responses[statusKey] as Json, ['paths', pathTemplate, method.toLowerCase(), 'responses', statusKey]);

  for (const [name, spec] of Object.entries((documented.value['headers'] ?? {}) as Json)) {
    const resolved = deref(spec as Json, [...documented.path, 'headers', name]);
    const value = header(response, name);
    if (resolved.value['required'] === true) assert.ok(value !== undefined, `${where}: header ${name} missing`);
    if (value !== undefined) validate([...resolved.path, 'schema'], value, `${where}: header ${name}`);
  }

  const content = documented.value['content'] as Json | undefined;
  if (!content) return;
  const mediaType = (header(response, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const key = mediaType in content ? mediaType : '*/*' in content ? '*/*' : undefined;
  assert.ok(key, `${where}: content type "${mediaType}" not documented (${Object.keys(content).join(', ')})`);
  const body = /json$/.test(mediaType) ? (JSON.parse(response.text) as unknown) : response.text;
  validate([...documented.path, 'content', key, 'schema'], body, `${where}: body`);
}
