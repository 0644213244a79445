/**
 * The baseline: what a user would write in an afternoon — Express 5 and the AWS SDK with
 * its defaults, no validation, metrics, logs or breakers.
 */
import express from 'express';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

const client = new SageMakerRuntimeClient({
  region: 'us-east-1',
  endpoint: process.env['UPSTREAM_URL'],
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});
const app = express();
app.post('/models/:model/predict', express.raw({ type: () => true, limit: '6mb' }), async (req, res) => {
  try {
    const output = await client.send(
      new InvokeEndpointCommand({
        EndpointName: 'bench',
        TargetModel: `${req.params.model}.tar.gz`,
        ContentType: req.get('content-type'),
        Body: req.body as Buffer,
      }),
    );
    res.type(output.ContentType ?? 'application/octet-stream').send(Buffer.from(output.Body ?? []));
  } catch (error) {
    res.status(500).json({ error: String(error) });
  }
});
const server = app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ message: 'listening', port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
