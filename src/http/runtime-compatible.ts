/**
 * POST /endpoints/{EndpointName}/invocations: SageMaker Runtime's InvokeEndpoint on the wire,
 * so code that already calls SageMaker with an AWS SDK, boto3 or the AWS CLI moves behind the
 * gateway by changing only its endpoint URL. Requests go through the same catalog checks,
 * cold-start retries, breakers, metrics and logs as the REST route; answers and errors are
 * encoded exactly as SageMaker encodes them, so the SDKs raise their usual exceptions.
 *
 * The caller's SigV4 Authorization header is not identity: it is ignored (the gateway signs
 * upstream with its own role), and only endpoint/target pairs the catalog allows resolve.
 *
 * SageMaker's 60-second contract: SageMaker answers ModelNotReadyException when a model is
 * still loading after about 60 s, and SDK clients are configured around that (boto3 reads for
 * 60 s, then retries a 429). So this route waits for a loading model only `readyWaitMs`
 * (WIRE_READY_WAIT_MS, just under 60 s), then answers ModelNotReadyException; the load goes
 * on and the client's retry joins it. A caller's X-Request-Timeout-Ms replaces that wait.
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { ModelCatalog, ResolvedModel } from '../catalog.js';
import type { ErrorCode, GatewayError } from '../errors.js';
import { gatewayError } from '../errors.js';
import { type SageMakerErrorType, writeInvokeEndpointAnswer, writeSageMakerError } from '../sagemaker-wire.js';
import { authorizeTarget, requireAccess } from './auth.js';
import { checkPredictionHeaders, readPredictionInput } from './prediction-input.js';
import { type BodySettings, readBody } from './request-body.js';
import { strictRouter } from './strict-router.js';
import { asGatewayError, mayAnswerError } from './problem.js';
import { locals, routeLabel } from './request-context.js';
import { type PredictionDeps, recordModel, runPrediction } from './run-prediction.js';

export const RUNTIME_ROUTE_PREFIX = '/endpoints';

/** The gateway's own error code travels in this header; SageMaker's body format has no room for it. */
export const GATEWAY_CODE_HEADER = 'X-Gateway-Error-Code';

export interface RuntimeRouteDeps extends PredictionDeps {
  catalog: ModelCatalog;
  body: BodySettings;
  /** How long a request waits for a loading model before ModelNotReadyException (WIRE_READY_WAIT_MS). */
  wireReadyWaitMs: number;
}

/**
 * Which SageMaker error each gateway error becomes. Overload and "try later" answers are
 * ServiceUnavailable (the SDKs retry those with backoff); a model still loading after the
 * deadline is ModelNotReadyException, as SageMaker itself would answer.
 */
const sageMakerTypeOf: Record<ErrorCode, SageMakerErrorType> = {
  INVALID_MODEL_NAME: 'ValidationError',
  INVALID_ENDPOINT_NAME: 'ValidationError',
  INVALID_TARGET_MODEL: 'ValidationError',
  INVALID_HEADER: 'ValidationError',
  INVALID_REQUEST: 'ValidationError',
  EMPTY_BODY: 'ValidationError',
  UNAUTHORIZED: 'AccessDeniedException',
  FORBIDDEN: 'AccessDeniedException',
  NOT_FOUND: 'ValidationError',
  MODEL_NOT_FOUND: 'ValidationError',
  ENDPOINT_NOT_ALLOWED: 'ValidationError',
  REQUEST_TIMEOUT: 'ValidationError',
  PAYLOAD_TOO_LARGE: 'ValidationError',
  UNSUPPORTED_MEDIA_TYPE: 'ValidationError',
  UPSTREAM_VALIDATION_ERROR: 'ValidationError',
  MODEL_ERROR: 'ModelError',
  MODEL_NOT_READY: 'ModelNotReadyException',
  QUEUE_FULL: 'ServiceUnavailable',
  CIRCUIT_OPEN: 'ServiceUnavailable',
  UPSTREAM_THROTTLED: 'ServiceUnavailable',
  UPSTREAM_UNAVAILABLE: 'ServiceUnavailable',
  UPSTREAM_ERROR: 'InternalFailure',
  UPSTREAM_UNREACHABLE: 'InternalFailure',
  UPSTREAM_TIMEOUT: 'ServiceUnavailable',
  DEADLINE_EXCEEDED: 'ServiceUnavailable',
  INTERNAL_ERROR: 'InternalFailure',
  CLIENT_CLOSED_REQUEST: 'InternalFailure', // never sent: the caller has gone
};

/** The route's handlers, in order: declared once, run by the router and by the fast path. */
export function invocationHandlers(deps: RuntimeRouteDeps): RequestHandler[] {
  const resolveTarget: RequestHandler<{ endpoint: string }> = (req, res, next) => {
    const target = { targetModel: req.get('x-amzn-sagemaker-target-model'), inferenceComponent: req.get('x-amzn-sagemaker-inference-component') };
    if (target.targetModel === undefined && target.inferenceComponent === undefined) {
      throw gatewayError(
        'INVALID_TARGET_MODEL',
        'X-Amzn-SageMaker-Target-Model (multi-model endpoint) or X-Amzn-SageMaker-Inference-Component is required.',
      );
    }
    const model = deps.catalog.resolveTarget(req.params.endpoint, target);
    requireCatalogAddress(model, req.params.endpoint, req.get('x-amzn-sagemaker-target-container-hostname'), req.get('x-amzn-sagemaker-target-variant'));
    recordModel(res, model);
    authorizeTarget(res, model, deps.catalog.namesReaching(req.params.endpoint, target, model), { checkEndpoint: true });
    checkPredictionHeaders(req, res);
    next();
  };
  return [
    routeLabel('/endpoints/{endpoint}/invocations'),
    requireAccess('key'),
    resolveTarget as RequestHandler,
    readBody(deps.body),
    async (req, res) => {
      const input = readPredictionInput(req, res);
      const loadWaitMs = input.callerTimeoutMs === undefined ? deps.wireReadyWaitMs : undefined;
      const result = await runPrediction(deps, res, locals(res).model!, input, { loadWaitMs });
      writeInvokeEndpointAnswer(res, {
        body: result.body,
        contentType: result.contentType ?? 'application/octet-stream',
        invokedVariant: result.invokedVariant ?? 'AllTraffic',
        requestId: locals(res).requestId,
        ...(result.customAttributes !== undefined ? { customAttributes: result.customAttributes } : {}),
      });
    },
  ];
}

export function runtimeCompatibleRouter(handlers: RequestHandler[]): Router {
  const router = strictRouter();
  router.post(`${RUNTIME_ROUTE_PREFIX}/:endpoint/invocations`, ...handlers);
  return router;
}

/**
 * A container hostname reaches SageMaker only when the catalog sets it for a target on this
 * endpoint, and a variant the catalog pins cannot be swapped for another.
 */
function requireCatalogAddress(model: ResolvedModel, endpoint: string, hostname: string | undefined, variant: string | undefined): void {
  const targets = model.targets.filter((target) => target.address.endpointName === endpoint);
  if (hostname !== undefined && !targets.some((target) => target.address.targetContainerHostname === hostname)) {
    throw gatewayError('ENDPOINT_NOT_ALLOWED', `Container hostname "${hostname}" is not allowed by the gateway's catalog for endpoint "${endpoint}".`);
  }
  const pinned = targets.map((target) => target.address.targetVariant).filter((pin) => pin !== undefined);
  if (variant !== undefined && pinned.length > 0 && !pinned.includes(variant)) {
    throw gatewayError('ENDPOINT_NOT_ALLOWED', `Variant "${variant}" is not allowed by the gateway's catalog for endpoint "${endpoint}".`);
  }
}

/**
 * Errors under /endpoints are answered in SageMaker's encoding (type header, JSON body,
 * status) instead of problem+json, including those raised before the route (API keys).
 */
export function runtimeErrorHandler() {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const known = asGatewayError(error);
    if (!known) {
      next(error); // the app's error handler logs it and answers 500 without internals
      return;
    }
    sendSageMakerError(res, known);
  };
}

function sendSageMakerError(res: Response, error: GatewayError): void {
  const context = locals(res);
  if (!mayAnswerError(res, error)) return;
  const type = sageMakerTypeOf[error.code];
  res.setHeader(GATEWAY_CODE_HEADER, error.code);
  const originalStatus = error.extensions['originalStatus'];
  writeSageMakerError(res, type, error.message, {
    requestId: context.requestId,
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    ...(type === 'ModelError'
      ? {
          modelError: {
            originalStatusCode: typeof originalStatus === 'number' ? originalStatus : error.status,
            originalMessage: String(error.extensions['originalMessage'] ?? error.message),
          },
        }
      : {}),
  });
  context.logger.debug('wire route error', { code: error.code, type });
}
