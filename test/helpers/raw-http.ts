/**
 * HTTP exactly as written, for tests of what the gateway does with unusual requests: `exact`
 * sends a request line verbatim (fetch would normalise dot segments and case-fold nothing, but
 * still rewrites paths), and `rawExchange` writes bytes on a TCP socket and reads until the
 * gateway closes it, timing both the first answer byte and the close.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ExactResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function exact(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<ExactResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawExchange {
  text: string;
  /** Milliseconds from connecting to the first byte of the answer (undefined: none came). */
  answeredAfterMs: number | undefined;
  closedAfterMs: number;
}

/** Opens a raw connection, writes `data`, and resolves with everything read until the server closes. */
export function rawExchange(
  url: string,
  data: string,
  options: { keepWriting?: (socket: Socket) => void; holdMs?: number; until?: (text: string) => boolean } = {},
): Promise<RawExchange> {
  const { port } = new URL(url);
  const holdMs = options.holdMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    let answeredAfterMs: number | undefined;
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(data);
      options.keepWriting?.(socket);
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answeredAfterMs ??= Date.now() - startedAt;
      text += chunk;
      if (options.until?.(text)) socket.destroy(); // the client has read what it waited for
    });
    socket.on('error', () => {}); // a reset is one of the outcomes under test
    socket.on('close', () => resolve({ text, answeredAfterMs, closedAfterMs: Date.now() - startedAt }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway held the connection for ${holdMs} ms; read so far: ${JSON.stringify(text.slice(0, 200))}`));
    }, holdMs).unref();
  });
}
