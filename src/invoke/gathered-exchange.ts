/**
 * One HTTP exchange through undici's dispatch API, the answer gathered into one buffer. undici's
 * request() is built on the same dispatch, adding for every call an AsyncResource, a promise
 * chain and a Readable stream for the body that is then read back into a buffer, for bodies
 * that are small and always read whole (a few percent of the warm path's CPU; docs/performance.md).
 * Aborting follows request(): a signal that fires before the request reaches a socket aborts it
 * as soon as it does, one that fires later aborts it (undici closes the connection).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

export interface GatheredAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function gatheredExchange(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<GatheredAnswer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const onAbort = () => controller?.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (error: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    };
    try {
      dispatcher.dispatch(options, {
        onRequestStart(started) {
          controller = started;
          if (signal.aborted) started.abort(signal.reason);
        },
        // Called again after a 1xx informational answer: the last call is the answer's.
        onResponseStart(_controller, status, answerHeaders) {
          statusCode = status;
          headers = answerHeaders;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          signal.removeEventListener('abort', onAbort);
          resolve({ statusCode, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        },
        onResponseError(_controller, error) {
          fail(error);
        },
      });
    } catch (error) {
      fail(error);
    }
  });
}
