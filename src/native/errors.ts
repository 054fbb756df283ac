// Errors from the native layer, re-thrown with a JavaScript stack that points at the caller.
import { Talk2meError } from '../shared/errors.js';

export type NativeErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_UNREADABLE'
  | 'MODEL_INVALID'
  | 'MODEL_LOAD_FAILED'
  | 'STATE_INIT_FAILED'
  | 'INVALID_ARGUMENT'
  | 'TRANSCRIPTION_FAILED'
  | 'ABORTED'
  | 'MODEL_DISPOSED'
  | 'OUT_OF_MEMORY'
  | 'INTERNAL_ERROR'
  | 'SPAWN_FAILED';

export class WhisperError extends Talk2meError<NativeErrorCode> {
  /**
   * The model file a load or reload failed on. Native messages never name server paths (they can
   * reach HTTP clients), so the path travels here, for the log and the CLI.
   */
  modelPath?: string;
}

/**
 * Runs a native call and, when it rejects, throws a WhisperError carrying the native code and a
 * stack captured here, at the caller, instead of the empty stack of a libuv callback.
 */
export async function withJsStack<T>(call: () => Promise<T>): Promise<T> {
  const site = new Error();
  try {
    return await call();
  } catch (err) {
    throw toWhisperError(err, site);
  }
}

export function toWhisperError(err: unknown, site?: Error): WhisperError {
  if (err instanceof WhisperError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  const fallback: NativeErrorCode = err instanceof TypeError ? 'INVALID_ARGUMENT' : 'INTERNAL_ERROR';
  const wrapped = new WhisperError(typeof code === 'string' ? (code as NativeErrorCode) : fallback, message, { cause: err });
  if (site?.stack) wrapped.stack = `WhisperError: ${message}\n${site.stack.split('\n').slice(1).join('\n')}`;
  return wrapped;
}
