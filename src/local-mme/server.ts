/**
 * The local SageMaker multi-model endpoint: a plain node:http server that answers
 * InvokeEndpoint exactly as SageMaker Runtime does on the wire, with MME behaviour (models
 * loaded on first use from LOCAL_MME_MODEL_DIR, ModelNotReadyException while loading, LRU
 * and idle unloading), inference components that scale to zero (inference-components.ts)
 * and real XGBoost inference. No Express: the wire format is fixed and small, and
 * nothing here should mask how SageMaker really answers.
 *
 * Admin routes that exist only here (never in the gateway): GET /_local/stats and
 * GET|PUT /_local/faults (see faults.ts).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, describeIssues } from '../config-error.js';
import type { Logger } from '../logger.js';
import { listen } from '../server.js';
import type { LocalMmeConfig } from './config.js';
import { FaultInjector, faultPlanSchema } from './faults.js';
import { ModelCache } from './model-cache.js';
import type { LoadedModel, ModelLoader } from './model-runtime.js';
import { InferenceComponents } from './inference-components.js';
import { validateInvocation } from './invocation-validation.js';
import {
  INVOCATIONS_PATH,
  NO_CAPACITY_MESSAGE,
  MAX_BODY_BYTES,
  readInvokeEndpointHeaders,
  writeInvokeEndpointAnswer,
  writeSageMakerError,
  type InvokeEndpointHeaders,
} from '../sagemaker-wire.js';
import { loadXgboostModel } from './xgboost-loader.js';

/** The production variant every local endpoint reports, as a single-variant endpoint does. */
export const LOCAL_VARIANT = 'AllTraffic';


export interface LocalMme {
  listen(): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
  readonly server: Server;
}

export interface LocalMmeOptions {
  config: LocalMmeConfig;
  logger: Logger;
  /** Replaces the XGBoost runtime (tests of the MME behaviour with synthetic models). */
  loader?: ModelLoader;
}

type Invocation = { endpoint: string; headers: InvokeEndpointHeaders; body: Buffer; requestId: string };

export function createLocalMme({ config, logger, loader = loadXgboostModel }: LocalMmeOptions): LocalMme {
  const faults = new FaultInjector(config.faults);
  const cache = new ModelCache({ ...config, loader, faults });
  const modelDir = path.resolve(config.modelDir);
  const components = new InferenceComponents({
    archives: new Map(
      [...config.inferenceComponents.archives].map(([name, archive]) => {
        const archivePath = archivePathOf(archive);
        if (!archivePath) throw new ConfigError(`invalid local MME configuration: LOCAL_MME_INFERENCE_COMPONENTS: ${archive} is not a path under the model directory`);
        return [name, archivePath];
      }),
    ),
    loader,
    idleMs: config.inferenceComponents.idleMs,
    provisionMs: config.inferenceComponents.provisionMs,
  });
  /** Invocations whose caller closed the connection before the answer, by TargetModel header. */
  const closedBeforeAnswer = new Map<string, number>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('local MME: unexpected failure', { error: (error as Error).message });
      if (!res.headersSent) writeSageMakerError(res, 'InternalFailure', 'An internal error occurred.');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local-mme');
    const invocation = INVOCATIONS_PATH.exec(url.pathname);
    if (invocation) {
      if (req.method !== 'POST') return writeJson(res, 405, { message: 'Method not allowed.' });
      return invoke(req, res, invocation[1] ?? '');
    }
    if (url.pathname === '/ping' && req.method === 'GET') return writeJson(res, 200, { status: 'ok' });
    if (url.pathname === '/_local/stats' && req.method === 'GET') return writeJson(res, 200, stats());
    if (url.pathname === '/_local/faults') {
      if (req.method === 'GET') return writeJson(res, 200, faults.current);
      if (req.method === 'PUT') return setFaults(req, res);
    }
    writeJson(res, 404, { message: `No route for ${req.method ?? ''} ${url.pathname}.` });
  }

  async function invoke(req: IncomingMessage, res: ServerResponse, rawEndpoint: string): Promise<void> {
    const requestId = randomUUID();
    // What a caller's cancellation looks like from here (tests of the gateway's aborts read it).
    res.once('close', () => {
      if (res.writableFinished) return;
      const target = String(req.headers['x-amzn-sagemaker-target-model'] ?? '');
      closedBeforeAnswer.set(target, (closedBeforeAnswer.get(target) ?? 0) + 1);
    });
    const body = await readBody(req, MAX_BODY_BYTES);
    let endpoint: string;
    try {
      endpoint = decodeURIComponent(rawEndpoint);
    } catch {
      return writeSageMakerError(res, 'ValidationError', 'Endpoint name is not valid.', { requestId });
    }
    if (body === 'too_large') {
      return writeSageMakerError(res, 'ValidationError', `Request payload exceeds the maximum of ${MAX_BODY_BYTES} bytes.`, { requestId });
    }
    const headers = readInvokeEndpointHeaders(req.headers);
    const invalid = validateInvocation(endpoint, headers, config.endpoints);
    if (invalid) return writeSageMakerError(res, 'ValidationError', invalid, { requestId });
    await answerInvocation(req, res, { endpoint, headers, body, requestId });
  }

  /** The archive for a TargetModel: a path under the model directory, never outside it. */
  function archivePathOf(targetModel: string): string | undefined {
    const resolved = path.resolve(modelDir, targetModel);
    return resolved.startsWith(modelDir + path.sep) ? resolved : undefined;
  }

  async function answerInvocation(req: IncomingMessage, res: ServerResponse, call: Invocation): Promise<void> {
    if (call.headers.inferenceComponent !== undefined) return answerComponent(res, call, call.headers.inferenceComponent);
    const target = call.headers.targetModel ?? '';
    const { requestId } = call;
    const archivePath = archivePathOf(target);
    if (!archivePath) {
      return writeSageMakerError(res, 'ValidationError', `TargetModel ${target} is not a path under the endpoint's model data prefix.`, { requestId });
    }
    const decision = faults.decide(target);
    if (decision.kind === 'hang') return; // Never answered; close() ends the socket.
    if (decision.delayMs > 0) await sleep(decision.delayMs);
    if (decision.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (decision.kind === 'error') {
      const message = `Injected ${decision.type}.`;
      return writeSageMakerError(res, decision.type, decision.type === 'ModelError' ? modelErrorMessage(decision.modelErrorStatus, message) : message, {
        requestId,
        ...(decision.type === 'ModelError' ? { modelError: { originalStatusCode: decision.modelErrorStatus, originalMessage: message } } : {}),
      });
    }

    // Only a model not in memory needs its archive: no file system call on the warm path.
    if (!cache.isLoaded(target) && !(await fileExists(archivePath))) {
      return writeSageMakerError(
        res,
        'ValidationError',
        // SageMaker's wording for a TargetModel with no object under the endpoint's S3 prefix.
        `Failed to download model data(bucket: local-mme, key: ${target}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`,
        { requestId },
      );
    }
    const lookup = await cache.get(target, archivePath);
    if (!lookup.ok) {
      if (lookup.reason === 'not_ready') {
        return writeSageMakerError(res, 'ModelNotReadyException', `Model ${target} is not yet loaded. Please try again later.`, { requestId });
      }
      logger.warn('local MME: model failed to load', { targetModel: target, error: lookup.message });
      return writeSageMakerError(res, 'ModelError', modelErrorMessage(500, lookup.message), {
        requestId,
        modelError: { originalStatusCode: 500, originalMessage: lookup.message },
      });
    }
    if (lookup.loadedNow) logger.info('local MME: model loaded', { targetModel: target, memoryUsedBytes: cache.memoryUsedBytes });

    answerWithModel(res, call, lookup.model);
  }

  function answerWithModel(res: ServerResponse, call: Invocation, model: LoadedModel): void {
    const { requestId } = call;
    const result = model.invoke({ body: call.body, contentType: call.headers.contentType, accept: call.headers.accept });
    if (!result.ok) {
      return writeSageMakerError(res, 'ModelError', modelErrorMessage(result.status, result.message), {
        requestId,
        modelError: { originalStatusCode: result.status, originalMessage: result.message },
      });
    }
    writeInvokeEndpointAnswer(res, {
      body: result.body,
      contentType: result.contentType,
      invokedVariant: LOCAL_VARIANT,
      requestId,
      // A container may answer CustomAttributes; this one echoes the caller's so the
      // round trip through the gateway can be seen.
      ...(call.headers.customAttributes !== undefined ? { customAttributes: call.headers.customAttributes } : {}),
    });
  }

  /** An endpoint hosting inference components: the component's one model, or no capacity. */
  async function answerComponent(res: ServerResponse, call: Invocation, name: string): Promise<void> {
    const { requestId } = call;
    const lookup = await components.invoke(name);
    if (!lookup.ok) {
      if (lookup.reason === 'no_capacity') return writeSageMakerError(res, 'ValidationError', NO_CAPACITY_MESSAGE, { requestId });
      if (lookup.reason === 'unknown') return writeSageMakerError(res, 'ValidationError', `Inference Component ${name} not found.`, { requestId });
      return writeSageMakerError(res, 'ModelError', modelErrorMessage(500, lookup.message), {
        requestId,
        modelError: { originalStatusCode: 500, originalMessage: lookup.message },
      });
    }
    answerWithModel(res, call, lookup.model);
  }

  async function setFaults(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, 1024 * 1024);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body === 'too_large' ? '' : body.toString('utf8'));
    } catch {
      return writeJson(res, 400, { message: 'Fault plan must be JSON.' });
    }
    const plan = faultPlanSchema.safeParse(parsed);
    if (!plan.success) return writeJson(res, 400, { message: describeIssues(plan.error) });
    faults.set(plan.data);
    logger.info('local MME: fault plan set', { plan: plan.data });
    writeJson(res, 200, plan.data);
  }

  function stats() {
    return {
      loaded: cache.loadedModels(),
      loading: cache.loadingModels(),
      memoryUsedBytes: cache.memoryUsedBytes,
      memoryLimitBytes: config.memoryBytes,
      models: Object.fromEntries(cache.stats),
      inferenceComponents: components.stats(),
      closedBeforeAnswer: Object.fromEntries(closedBeforeAnswer),
    };
  }

  return {
    server,
    async listen() {
      const port = await listen(server, config.port, config.host);
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return { url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, port };
    },
    async close() {
      components.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hung (fault-injected) and idle keep-alive sockets would otherwise hold close() forever.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** SageMaker's wording for a container's error, which the SDKs surface as the message. */
function modelErrorMessage(status: number, message: string): string {
  const kind = status < 500 ? 'client' : 'server';
  return `Received ${kind} error (${status}) from primary with message "${message}". See the container logs for more information.`;
}

/** The body, or 'too_large' once it passes `limit` (the rest is read and dropped). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? 'too_large' : Buffer.concat(chunks, size);
}

function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const payload = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
