/**
 * SigV4 for the one request the gateway sends: `POST {base}/endpoints/{name}/invocations` with
 * a known, small header set. @smithy/signature-v4 signs any request, so per call it clones the
 * request, sorts and lower-cases its header names, re-derives (or looks up by an HMAC of the
 * credentials) the signing key and formats the date; here what does not change per request is
 * computed once: the signing key and credential scope per day and secret, the signed-header
 * list per combination of optional headers, the canonical path per endpoint. A request then
 * costs one SHA-256 of the payload, one of the canonical request and one HMAC.
 *
 * The output is the request smithy's SignatureV4 (service `sagemaker`, payload checksum header
 * on, as the lean transport has always used it) produces, header for header; botocore's
 * SigV4Auth agrees. test/unit/invocation-signer.test.ts proves both over every header
 * combination. Credentials still come from the SDK's provider chain (and its refresh) on
 * every call; the cache only follows the secret it returns.
 */
import { createHmac, hash } from 'node:crypto';
import type { InvokeEndpointParams } from './transport.js';

/** What the SDK's credential providers resolve to. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

const SERVICE = 'sagemaker';
const ALGORITHM = 'AWS4-HMAC-SHA256';
/** The SDK serializer's content type for a blob payload sent without one. */
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export interface InvocationSignerOptions {
  region: string;
  /** The runtime's base URL (regional endpoint, VPC endpoint or local MME), possibly with a path. */
  baseUrl: URL;
  /** Fixed credentials, or a provider called on every request (the SDK's chain memoizes and refreshes). */
  credentials: SigningCredentials | (() => Promise<SigningCredentials>);
  /** Wall clock in ms (tests sign at fixed dates). */
  now?: () => number;
}

export interface SignedInvocation {
  /** Where to send it: undici's `origin` and `path`, so no URL is parsed per request. */
  origin: string;
  path: string;
  /** Every header to send, `authorization` included; names lower-case. */
  headers: Record<string, string>;
}

export interface InvocationSigner {
  sign(params: InvokeEndpointParams): Promise<SignedInvocation>;
}

interface EndpointPaths {
  path: string;
  canonicalPath: string;
}

/** What one day's signing key (and the secret it was derived from) gives. */
interface DayKey {
  shortDate: string;
  accessKeyId: string;
  secretAccessKey: string;
  signingKey: Buffer;
  scope: string;
  /** `AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=` */
  authorizationPrefix: string;
}

/**
 * The optional headers that sort after the fixed ones, in canonical (lexicographic) order: each
 * parameter's header name. `accept` sorts before them and the session token between, so those two
 * are written where they sort and take the first two bits of the signed-header-list cache index.
 */
const SAGEMAKER_HEADERS = [
  ['customAttributes', 'x-amzn-sagemaker-custom-attributes'],
  ['inferenceComponent', 'x-amzn-sagemaker-inference-component'],
  ['inferenceId', 'x-amzn-sagemaker-inference-id'],
  ['targetContainerHostname', 'x-amzn-sagemaker-target-container-hostname'],
  ['targetModel', 'x-amzn-sagemaker-target-model'],
  ['targetVariant', 'x-amzn-sagemaker-target-variant'],
] as const satisfies ReadonlyArray<readonly [keyof InvokeEndpointParams, string]>;
const ACCEPT_BIT = 1;
const SECURITY_TOKEN_BIT = 2;
/** The cache-index bit of SAGEMAKER_HEADERS[index]. */
const sagemakerBit = (index: number): number => 4 << index;

function signedHeaderList(mask: number): string {
  const names = [
    ...(mask & ACCEPT_BIT ? ['accept'] : []),
    'content-length',
    'content-type',
    'host',
    'x-amz-content-sha256',
    'x-amz-date',
    ...(mask & SECURITY_TOKEN_BIT ? ['x-amz-security-token'] : []),
    ...SAGEMAKER_HEADERS.filter((_, index) => mask & sagemakerBit(index)).map(([, name]) => name),
  ];
  return names.join(';');
}

/** Anything SigV4's "trimall" would change: CR/LF, tabs, runs of spaces, outer spaces. */
const NEEDS_TRIM = /[\r\n\t]|  |^ | $/;

/** SigV4's canonical header value, exactly as smithy computes it. */
export function canonicalHeaderValue(value: string): string {
  if (!NEEDS_TRIM.test(value)) return value;
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded (SigV4's UriEncode). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * SigV4's canonical URI for services other than S3: dot segments and empty segments removed,
 * then each segment URI-encoded once more (the path on the wire is already encoded, so an
 * encoded endpoint name is encoded twice, `%20` → `%2520`).
 */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `${path.startsWith('/') ? '/' : ''}${segments.map(uriEncode).join('/')}${trailing}`;
}

/** `20261125T093000Z` from epoch ms. */
function longDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
/** One-shot: no Hash object per call (node ≥ 20.12). */
const sha256Hex = (data: string | Uint8Array): string => hash('sha256', data, 'hex');

/** Bound on cached endpoint paths: endpoints come from configuration, so a few in practice. */
const MAX_CACHED_ENDPOINTS = 1_000;

export function createInvocationSigner(options: InvocationSignerOptions): InvocationSigner {
  const { region, baseUrl } = options;
  const provider = options.credentials;
  const now = options.now ?? Date.now;
  const host = baseUrl.host;
  const origin = baseUrl.origin;
  const basePath = baseUrl.pathname.replace(/\/$/, '');
  const signedHeaderLists: string[] = [];
  const endpointPaths = new Map<string, EndpointPaths>();
  let dayKey: DayKey | undefined;
  let dateSecond = Number.NaN;
  let longDate = '';

  function pathsOf(endpoint: string): EndpointPaths {
    let paths = endpointPaths.get(endpoint);
    if (!paths) {
      const path = `${basePath}/endpoints/${encodeURIComponent(endpoint)}/invocations`;
      paths = { path, canonicalPath: canonicalPath(path) };
      if (endpointPaths.size >= MAX_CACHED_ENDPOINTS) endpointPaths.clear();
      endpointPaths.set(endpoint, paths);
    }
    return paths;
  }

  function keyFor(shortDate: string, credentials: SigningCredentials): DayKey {
    const cached = dayKey;
    if (
      cached &&
      cached.shortDate === shortDate &&
      cached.secretAccessKey === credentials.secretAccessKey &&
      cached.accessKeyId === credentials.accessKeyId
    ) {
      return cached;
    }
    let signingKey = hmac(`AWS4${credentials.secretAccessKey}`, shortDate);
    signingKey = hmac(signingKey, region);
    signingKey = hmac(signingKey, SERVICE);
    signingKey = hmac(signingKey, 'aws4_request');
    const scope = `${shortDate}/${region}/${SERVICE}/aws4_request`;
    dayKey = {
      shortDate,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      signingKey,
      scope,
      authorizationPrefix: `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=`,
    };
    return dayKey;
  }

  return {
    async sign(params) {
      const credentials = typeof provider === 'function' ? await provider() : provider;
      if (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') {
        throw new Error('Resolved credential object is not valid');
      }
      const second = Math.floor(now() / 1000);
      if (second !== dateSecond) {
        dateSecond = second;
        longDate = longDateOf(second * 1000);
      }
      const key = keyFor(longDate.slice(0, 8), credentials);
      const { path, canonicalPath: signedPath } = pathsOf(params.endpoint);
      const payloadHash = sha256Hex(params.body);
      const contentType = params.contentType ?? DEFAULT_CONTENT_TYPE;
      const contentLength = String(params.body.byteLength);
      const token = credentials.sessionToken;

      const headers: Record<string, string> = {
        host,
        'content-type': contentType,
        'content-length': contentLength,
      };
      // The canonical request lists headers in lexicographic order. The optional ones are written
      // where they sort, rather than collected and sorted, so a warm request builds its canonical
      // string in one pass with no array or sort; `mask` picks the cached signed-header list for
      // this combination.
      let mask = 0;
      let canonical = 'POST\n' + signedPath + '\n\n';
      if (params.accept !== undefined) {
        headers['accept'] = params.accept;
        canonical += 'accept:' + canonicalHeaderValue(params.accept) + '\n';
        mask |= ACCEPT_BIT;
      }
      canonical +=
        'content-length:' + contentLength +
        '\ncontent-type:' + canonicalHeaderValue(contentType) +
        '\nhost:' + host +
        '\nx-amz-content-sha256:' + payloadHash +
        '\nx-amz-date:' + longDate + '\n';
      if (token) {
        headers['x-amz-security-token'] = token;
        canonical += 'x-amz-security-token:' + canonicalHeaderValue(token) + '\n';
        mask |= SECURITY_TOKEN_BIT;
      }
      for (let index = 0; index < SAGEMAKER_HEADERS.length; index++) {
        const [param, name] = SAGEMAKER_HEADERS[index]!;
        const value = params[param];
        if (value === undefined) continue;
        headers[name] = value;
        canonical += name + ':' + canonicalHeaderValue(value) + '\n';
        mask |= sagemakerBit(index);
      }
      const signedHeaders = (signedHeaderLists[mask] ??= signedHeaderList(mask));
      canonical += '\n' + signedHeaders + '\n' + payloadHash;

      const stringToSign = ALGORITHM + '\n' + longDate + '\n' + key.scope + '\n' + sha256Hex(canonical);
      const signature = createHmac('sha256', key.signingKey).update(stringToSign, 'utf8').digest('hex');
      headers['x-amz-date'] = longDate;
      headers['x-amz-content-sha256'] = payloadHash;
      headers['authorization'] = key.authorizationPrefix + signedHeaders + ', Signature=' + signature;
      return { origin, path, headers };
    },
  };
}
