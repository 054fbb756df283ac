// Every error a client can cause becomes a 4xx (or 503 when we are full) with a JSON body
// `{ error: { code, message } }`; anything else is a 500 whose details stay in the log.
import { AudioDecodeError } from '../audio/index.js';
import { SessionLimitError } from '../memory/sessions/index.js';
import { WhisperError } from '../native/index.js';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface MappedError {
  statusCode: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Whether the server is at fault (logged as an error, message hidden from the client). */
  internal: boolean;
}

const AUDIO_STATUS: Record<string, number> = {
  AUDIO_INVALID: 400,
  AUDIO_EMPTY: 400,
  AUDIO_UNSUPPORTED_FORMAT: 415,
  AUDIO_TOO_LONG: 413,
  AUDIO_DECODER_FAILED: 422,
  ABORTED: 499,
};

const WHISPER_STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  ABORTED: 499,
  MODEL_DISPOSED: 503,
  MODEL_NOT_FOUND: 503,
  MODEL_INVALID: 503,
  MODEL_UNREADABLE: 503,
  MODEL_LOAD_FAILED: 503,
};

function body(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return { statusCode: err.statusCode, body: body(err.code, err.message), headers: err.headers, internal: err.statusCode >= 500 && err.statusCode !== 503 };
  }
  if (err instanceof AudioDecodeError) {
    return { statusCode: AUDIO_STATUS[err.code] ?? 400, body: body(err.code, err.message), headers: {}, internal: false };
  }
  if (err instanceof SessionLimitError) {
    const tooBig = err.code === 'SESSION_TEMP_BYTES_LIMIT' && err.requestedBytes !== undefined && err.limit !== undefined && err.requestedBytes > err.limit;
    const statusCode = err.code === 'INVALID_SESSION_ID' ? 400 : err.code === 'SESSION_CLOSED' ? 409 : tooBig ? 413 : 429;
    const headers: Record<string, string> = err.retryAfterS !== undefined ? { 'retry-after': String(err.retryAfterS) } : {};
    return { statusCode, body: body(err.code, err.message), headers, internal: false };
  }
  if (err instanceof WhisperError) {
    const statusCode = WHISPER_STATUS[err.code] ?? 500;
    return { statusCode, body: body(err.code, err.message), headers: statusCode === 503 ? { 'retry-after': '5' } : {}, internal: statusCode >= 500 && statusCode !== 503 };
  }
  // Fastify's own client errors (bad JSON, unsupported content type, body too large...).
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { statusCode: e.statusCode, body: body(e.code ?? 'BAD_REQUEST', e.message ?? 'Bad request'), headers: {}, internal: false };
  }
  return { statusCode: 500, body: body('INTERNAL_ERROR', 'Internal server error'), headers: {}, internal: true };
}
