/**
 * The floor: one bare proxy hop (node:http in, undici out, no signing, no checks). Whatever
 * the gateway adds above this is the cost of its features.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const upstream = new URL(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:1');
const dispatcher = new Agent({ connections: 256 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const model = /^\/models\/([^/]+)\/predict$/.exec(req.url ?? '')?.[1] ?? 'x';
    request(`${upstream.origin}/endpoints/bench/invocations`, {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream', 'x-amzn-sagemaker-target-model': `${model}.tar.gz` },
      body: Buffer.concat(chunks),
      dispatcher,
    })
      .then(async (answer) => {
        const body = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/octet-stream') });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ message: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
