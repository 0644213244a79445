/**
 * One SageMaker Runtime client per distinct (region, runtime URL, credentials profile) among
 * the catalog's targets, behind the one UpstreamTransport the invoker knows: each InvokeEndpoint
 * goes to the client its target names (`params.upstream`), the gateway's own by default. A
 * fallback in another region or account is thus just another target. Clients are created on
 * first use and all closed together.
 */
import { DEFAULT_UPSTREAM, type UpstreamRef } from '../catalog-targets.js';
import type { InvokeEndpointOutput, InvokeEndpointParams, UpstreamTransport } from './transport.js';

export function createTransportRouter(refs: UpstreamRef[], create: (ref: UpstreamRef) => UpstreamTransport): UpstreamTransport {
  const known = new Map<string, UpstreamRef>([[DEFAULT_UPSTREAM.key, DEFAULT_UPSTREAM]]);
  for (const ref of refs) known.set(ref.key, ref);
  const clients = new Map<string, UpstreamTransport>();

  function clientFor(key: string): UpstreamTransport {
    let client = clients.get(key);
    if (!client) {
      const ref = known.get(key);
      // Only keys built from the catalog exist; anything else is a bug, never a caller's value.
      if (!ref) throw new Error('transport router: unknown upstream');
      client = create(ref);
      clients.set(key, client);
    }
    return client;
  }

  return {
    invokeEndpoint(params: InvokeEndpointParams, signal: AbortSignal): Promise<InvokeEndpointOutput> {
      return clientFor(params.upstream ?? DEFAULT_UPSTREAM.key).invokeEndpoint(params, signal);
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
