/**
 * The contract between the local MME's HTTP/caching layer and the code that actually runs a
 * model. The server only knows "load an archive, then invoke it"; the XGBoost runtime is one
 * implementation, so tests can plug in others (slow, failing) without touching the server.
 */

/** What a container returns for one invocation. */
export type InferenceResult =
  | { ok: true; body: Buffer | string; contentType: string }
  /**
   * The container rejected or failed the request. SageMaker wraps this in a ModelError (424)
   * carrying `status` as OriginalStatusCode and `message` as OriginalMessage.
   */
  | { ok: false; status: number; message: string };

export interface InvocationInput {
  body: Buffer;
  contentType: string | undefined;
  accept: string | undefined;
}

export interface LoadedModel {
  /** Approximate resident size, used for the LRU memory budget (LOCAL_MME_MEMORY_MB). */
  readonly memoryBytes: number;
  invoke(input: InvocationInput): InferenceResult;
}

/**
 * Loads the model archive at `archivePath` (an absolute path already checked to lie inside the
 * model directory). Rejects when the archive is missing or not a valid model; the server turns
 * that into a ModelError for the callers, as SageMaker does for a model that fails to load.
 */
export type ModelLoader = (archivePath: string) => Promise<LoadedModel>;
