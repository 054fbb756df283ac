import { Talk2meError } from '../../shared/errors.js';

/**
 * Why the session manager refused a call, in a form the HTTP layer maps to a status code without
 * parsing messages:
 * - INVALID_SESSION_ID: the id is not a string of 1 to 128 characters from [A-Za-z0-9_-] (400).
 * - SESSION_CONCURRENCY_LIMIT: the session already runs its maximum number of requests (429).
 * - SESSION_TEMP_BYTES_LIMIT: the session's temporary files would exceed their byte budget (429;
 *   413 where `requestedBytes` alone exceeds `limit`, since waiting cannot help).
 * - SESSION_COUNT_LIMIT: the service holds its maximum number of sessions and every one has a request
 *   in flight, so none can make room (503, with `retryAfterS`).
 * - ADDRESS_CONCURRENCY_LIMIT: the client address already runs its maximum number of requests,
 *   whatever sessions they name (429).
 * - ADDRESS_TEMP_BYTES_LIMIT: the client address's temporary files would exceed their byte budget
 *   (429; 413 where `requestedBytes` alone exceeds `limit`).
 * - STAGED_BYTES_LIMIT: all temporary files together would exceed the service's budget (507, with
 *   `retryAfterS`).
 * - SESSION_CLOSED: the session was closed or expired while this request still held a reservation;
 *   the work should stop (409).
 */
export type SessionErrorCode =
  | 'INVALID_SESSION_ID'
  | 'SESSION_CONCURRENCY_LIMIT'
  | 'SESSION_TEMP_BYTES_LIMIT'
  | 'SESSION_COUNT_LIMIT'
  | 'SESSION_CLOSED'
  | 'ADDRESS_CONCURRENCY_LIMIT'
  | 'ADDRESS_TEMP_BYTES_LIMIT'
  | 'STAGED_BYTES_LIMIT';

/** Every code, so counters can start at zero for each and Prometheus sees stable series. */
export const SESSION_ERROR_CODES: readonly SessionErrorCode[] = [
  'INVALID_SESSION_ID',
  'SESSION_CONCURRENCY_LIMIT',
  'SESSION_TEMP_BYTES_LIMIT',
  'SESSION_COUNT_LIMIT',
  'SESSION_CLOSED',
  'ADDRESS_CONCURRENCY_LIMIT',
  'ADDRESS_TEMP_BYTES_LIMIT',
  'STAGED_BYTES_LIMIT',
];

export interface SessionLimitErrorDetails {
  /** Seconds after which a retry may succeed (count and staged-bytes limits). */
  retryAfterS?: number;
  /** The configured limit that was hit, in its own unit (requests, bytes or sessions). */
  limit?: number;
  /** For the temp-bytes limits: the bytes this call asked for. */
  requestedBytes?: number;
}

/** The only error type the session manager throws for a refused call. */
export class SessionLimitError extends Talk2meError<SessionErrorCode> {
  readonly retryAfterS: number | undefined;
  readonly limit: number | undefined;
  readonly requestedBytes: number | undefined;

  constructor(code: SessionErrorCode, message: string, details: SessionLimitErrorDetails = {}) {
    super(code, message);
    this.retryAfterS = details.retryAfterS;
    this.limit = details.limit;
    this.requestedBytes = details.requestedBytes;
  }
}
