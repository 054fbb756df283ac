// Sessions: per-client limits on concurrent requests, staged upload bytes and count, released when idle.
export { RequestLease, type RequestOptions, SessionManager, type SessionManagerOptions, type SessionStats } from './manager.js';
export { SESSION_ERROR_CODES, type SessionErrorCode, SessionLimitError } from './errors.js';
export { isValidSessionId, MAX_SESSION_ID_LENGTH, newSessionId, sessionTag } from './id.js';
export { DEFAULT_SESSION_LIMITS, type SessionLimits } from './limits.js';
export type { SessionInfo } from './record.js';
export { TempReservation } from './temp-reservation.js';
