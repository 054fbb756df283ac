// Every error a client can cause becomes a 4xx (or 503 when we are full) with a JSON body
// `{ error: { code, message, type, param } }` — talk2me's code and message, with OpenAI's `type` and
// `param` beside them so its SDKs surface the error; anything else is a 500 whose details stay in
// the log.
import { MemoryPressureError } from '../memory/admission.js';
import { SessionLimitError } from '../memory/sessions/index.js';
import { Talk2meError } from '../shared/errors.js';

/** An error the HTTP layer itself raises, with the status and headers the client gets. */
export class HttpError extends Talk2meError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions & { param?: string },
  ) {
    super(code, message, options);
    this.param = options?.param ?? null;
  }

  /** The request field the error is about, where there is one (OpenAI's `param`). */
  readonly param: string | null;
}

export interface ErrorBody {
  error: { code: string; message: string; type: string; param: string | null };
}

// OpenAI's error types, by status, so its SDKs raise the matching exception class.
function openAiType(statusCode: number): string {
  if (statusCode === 401) return 'authentication_error';
  if (statusCode === 403) return 'permission_error';
  if (statusCode === 404) return 'not_found_error';
  if (statusCode === 429) return 'rate_limit_error';
  return statusCode >= 500 ? 'server_error' : 'invalid_request_error';
}

/** The one error body of the API. */
export function errorBody(statusCode: number, code: string, message: string, param: string | null = null): ErrorBody {
  return { error: { code, message, type: openAiType(statusCode), param } };
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
  // Every session busy: the service is full, not this client over a limit.
  SESSION_COUNT_LIMIT: 503,
  ADDRESS_CONCURRENCY_LIMIT: 429,
  ADDRESS_TEMP_BYTES_LIMIT: 429,
  STAGED_BYTES_LIMIT: 507,
  // A new whisper state would cross the memory threshold and nothing running would free one.
  MEMORY_PRESSURE: 503,
};

/** Retry-After for refusals that wait on disk space: uploads must finish or be swept first. */
export const STORAGE_RETRY_AFTER_S = 30;

// Statuses of the 5xx range that describe the service's state, not a fault: their message is shown.
const NOT_A_FAULT = new Set([503, 507]);

// Waiting cannot help an upload that alone exceeds what a session or an address may hold.
const BYTE_LIMITS = new Set(['SESSION_TEMP_BYTES_LIMIT', 'ADDRESS_TEMP_BYTES_LIMIT']);

function statusOf(err: Talk2meError): number {
  if (err instanceof SessionLimitError && BYTE_LIMITS.has(err.code) && err.requestedBytes !== undefined && err.limit !== undefined && err.requestedBytes > err.limit) {
    return 413;
  }
  return STATUS_BY_CODE[err.code] ?? 500;
}

/** Seconds a client is told to wait when nothing more precise is known: about a short transcription. */
const DEFAULT_RETRY_AFTER_S = 5;

// Every 429 and every 503 says when to come back, so a client's backoff waits for a slot to free
// rather than retrying at once.
function retryHeaders(err: Talk2meError, statusCode: number): Record<string, string> {
  if (err instanceof SessionLimitError && err.retryAfterS !== undefined) return { 'retry-after': String(err.retryAfterS) };
  if (err instanceof MemoryPressureError) return { 'retry-after': String(err.retryAfterS) };
  return NOT_A_FAULT.has(statusCode) || statusCode === 429 ? { 'retry-after': String(DEFAULT_RETRY_AFTER_S) } : {};
}

export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return { statusCode: err.statusCode, body: errorBody(err.statusCode, err.code, err.message, err.param), headers: { ...retryHeaders(err, err.statusCode), ...err.headers }, internal: err.statusCode >= 500 && !NOT_A_FAULT.has(err.statusCode) };
  }
  if (err instanceof Talk2meError) {
    const statusCode = statusOf(err);
    if (statusCode >= 500 && !NOT_A_FAULT.has(statusCode)) return { statusCode, body: errorBody(statusCode, 'INTERNAL_ERROR', 'Internal server error'), headers: {}, internal: true };
    return { statusCode, body: errorBody(statusCode, err.code, err.message), headers: retryHeaders(err, statusCode), internal: false };
  }
  // Fastify's own client errors (bad JSON, unsupported content type, body too large...).
  const e = err as { statusCode?: number; code?: string; message?: string };
  // The file system refused a write for want of space or quota: the service's state, not a fault.
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return { statusCode: 507, body: errorBody(507, 'INSUFFICIENT_STORAGE', 'The server is short of disk space for uploads; retry later'), headers: { 'retry-after': String(STORAGE_RETRY_AFTER_S) }, internal: false };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { statusCode: e.statusCode, body: errorBody(e.statusCode, e.code ?? 'BAD_REQUEST', e.message ?? 'Bad request'), headers: {}, internal: false };
  }
  return { statusCode: 500, body: errorBody(500, 'INTERNAL_ERROR', 'Internal server error'), headers: {}, internal: true };
}
