/** A TCP port that was free a moment ago: for a server a test starts itself, or for nothing to listen on. */
import { createServer } from 'node:net';
import { listen } from '../../src/server.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, 0, '127.0.0.1');
  await new Promise((resolve) => server.close(resolve));
  return port;
}
