/**
 * What the invoker needs from "the thing that sends InvokeEndpoint": one attempt, no retries
 * (the invoker owns retries so breakers and metrics see every attempt). Kept as an interface
 * so a leaner transport can replace the SDK client without touching the retry logic.
 */

/** What a caller asks of one InvokeEndpoint: the body and SageMaker's optional headers. */
export interface InvokeEndpointInput {
  body: Uint8Array;
  contentType: string | undefined;
  accept: string | undefined;
  customAttributes: string | undefined;
  inferenceId: string | undefined;
  targetVariant: string | undefined;
}

/** One InvokeEndpoint: where it goes (endpoint, upstream client, the model's address) and the caller's input. */
export interface InvokeEndpointParams extends InvokeEndpointInput {
  endpoint: string;
  /** Which SageMaker Runtime client (region, URL, credentials): the target's UpstreamRef key. */
  upstream?: string;
  /** Multi-model endpoints. */
  targetModel: string | undefined;
  /** Endpoints hosting inference components. */
  inferenceComponent?: string | undefined;
  targetContainerHostname?: string | undefined;
}

export interface InvokeEndpointOutput {
  body: Uint8Array;
  contentType: string | undefined;
  customAttributes: string | undefined;
  invokedVariant: string | undefined;
  /** SageMaker's x-amzn-RequestId, for support cases and log correlation. */
  upstreamRequestId: string | undefined;
}

export interface UpstreamTransport {
  /**
   * Sends one InvokeEndpoint. Rejects with the AWS SDK's exception classes (ModelError,
   * ModelNotReadyException, …) or a network error. `signal` aborts the attempt (the invoker's
   * per-attempt timeout, or the caller having gone): the transport must then close the upstream
   * connection at once, so SageMaker stops holding a request nobody will read.
   */
  invokeEndpoint(params: InvokeEndpointParams, signal: AbortSignal): Promise<InvokeEndpointOutput>;
  close(): void;
}

/** How a transport reaches SageMaker Runtime (both transports take the same settings). */
export interface TransportOptions {
  region: string;
  /** Runtime URL override (local MME, VPC interface endpoint); undefined = the regional endpoint. */
  endpointUrl: string | undefined;
  connectTimeoutMs: number;
  /** Idle-socket timeout; must exceed SageMaker's 60 s model-loading wait. */
  socketTimeoutMs: number;
  maxSockets: number;
  /** Fixed credentials (only for the local MME, which does not check signatures). */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** A named profile of the AWS shared config files, for a target in another account. */
  credentialsProfile?: string | undefined;
}
