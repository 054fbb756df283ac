// Every error a client can cause becomes a 4xx (or 503 when we are full) with a JSON body
// `{ error: { code, message } }`; anything else is a 500 whose details stay in the log.
import { SessionLimitError } from '../memory/sessions/index.js';
import { Talk2meError } from '../shared/errors.js';

/** An error the HTTP layer itself raises, with the status and headers the client gets. */
export class HttpError extends Talk2meError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
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

// The status a client sees for each code of talk2me's own errors; any other code is the server's
// fault (500, details only in the log).
const STATUS_BY_CODE: Record<string, number> = {
  AUDIO_INVALID: 400,
  AUDIO_EMPTY: 400,
  AUDIO_UNSUPPORTED_FORMAT: 415,
  AUDIO_TOO_LONG: 413,
  AUDIO_DECODER_FAILED: 422,
  ABORTED: 499,
  INVALID_ARGUMENT: 400,
  MODEL_DISPOSED: 503,
  MODEL_NOT_FOUND: 503,
  MODEL_INVALID: 503,
  MODEL_UNREADABLE: 503,
  MODEL_LOAD_FAILED: 503,
  INVALID_SESSION_ID: 400,
  SESSION_CLOSED: 409,
  SESSION_CONCURRENCY_LIMIT: 429,
  SESSION_TEMP_BYTES_LIMIT: 429,
  SESSION_COUNT_LIMIT: 429,
};

function body(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

function statusOf(err: Talk2meError): number {
  // Waiting cannot help an upload that alone exceeds what a session may hold.
  if (err instanceof SessionLimitError && err.code === 'SESSION_TEMP_BYTES_LIMIT' && err.requestedBytes !== undefined && err.limit !== undefined && err.requestedBytes > err.limit) {
    return 413;
  }
  return STATUS_BY_CODE[err.code] ?? 500;
}

function retryHeaders(err: Talk2meError, statusCode: number): Record<string, string> {
  if (err instanceof SessionLimitError && err.retryAfterS !== undefined) return { 'retry-after': String(err.retryAfterS) };
  return statusCode === 503 ? { 'retry-after': '5' } : {};
}

export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return { statusCode: err.statusCode, body: body(err.code, err.message), headers: err.headers, internal: err.statusCode >= 500 && err.statusCode !== 503 };
  }
  if (err instanceof Talk2meError) {
    const statusCode = statusOf(err);
    if (statusCode >= 500 && statusCode !== 503) return { statusCode, body: body('INTERNAL_ERROR', 'Internal server error'), headers: {}, internal: true };
    return { statusCode, body: body(err.code, err.message), headers: retryHeaders(err, statusCode), internal: false };
  }
  // Fastify's own client errors (bad JSON, unsupported content type, body too large...).
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { statusCode: e.statusCode, body: body(e.code ?? 'BAD_REQUEST', e.message ?? 'Bad request'), headers: {}, internal: false };
  }
  return { statusCode: 500, body: body('INTERNAL_ERROR', 'Internal server error'), headers: {}, internal: true };
}
