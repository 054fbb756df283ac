import { invalidValue } from '../../shared/errors.js';

/** The per-session and per-address limits, the caps on sessions and staged bytes; the server fills them from its settings. */
export interface SessionLimits {
  /** Requests one session may run at once. */
  maxConcurrentPerSession: number;
  /** Bytes of temporary files (uploads, decoded audio) one session may hold at once. */
  maxTempBytesPerSession: number;
  /** Sessions the service holds at once. */
  maxSessions: number;
  /** A session with no request in flight and not seen for this long is expired. */
  idleTimeoutMs: number;
  /** Sessions one client address may hold; a new one beyond it replaces that address's least recently used idle one. */
  maxSessionsPerAddress: number;
  /** Requests one client address may run at once, whatever sessions it names. */
  maxConcurrentPerAddress: number;
  /** Bytes of temporary files one client address may hold at once, whatever sessions it names. */
  maxTempBytesPerAddress: number;
  /** Bytes of temporary files all requests together may hold at once. */
  maxTempBytesTotal: number;
}

export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({
  maxConcurrentPerSession: 2,
  maxTempBytesPerSession: 100 * 1024 * 1024,
  maxSessions: 1000,
  idleTimeoutMs: 30 * 60 * 1000,
  maxSessionsPerAddress: 16,
  maxConcurrentPerAddress: 8,
  maxTempBytesPerAddress: 400 * 1024 * 1024,
  maxTempBytesTotal: 1024 * 1024 * 1024,
});

/** Defaults for what is not given; throws a RangeError for a value that is not a positive integer. */
export function resolveSessionLimits(options: Partial<SessionLimits>): SessionLimits {
  const limits = { ...DEFAULT_SESSION_LIMITS };
  for (const name of Object.keys(DEFAULT_SESSION_LIMITS) as (keyof SessionLimits)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(invalidValue(name, 'a positive integer', value));
    }
    limits[name] = value;
  }
  return limits;
}
