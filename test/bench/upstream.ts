/**
 * Benchmark upstream: an InvokeEndpoint-shaped server that answers a fixed CSV line at once,
 * so the benchmark measures the gateways, not a model.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/invocations')) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'UnknownOperationException' });
      res.end('{"message":"not found"}');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/csv',
      'x-amzn-invoked-production-variant': 'AllTraffic',
      'x-amzn-requestid': '00000000-0000-0000-0000-000000000000',
    });
    res.end('0.4213\n');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ message: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
