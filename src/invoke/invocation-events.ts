/**
 * What the invoker reports about its own waits that no interceptor can see from outside: the
 * backoff sleeps between attempts. Tracing records them as span events; by default nothing
 * listens and a report costs one empty call.
 */
export type BackoffReason = 'not_ready' | 'transient';

export interface InvocationEvents {
  backoff(reason: BackoffReason, delayMs: number): void;
}

export const noInvocationEvents: InvocationEvents = { backoff() {} };
