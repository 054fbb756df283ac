import { createHash, randomBytes } from 'node:crypto';

import { SessionLimitError } from './errors.js';

/** Long enough for any sane token, short enough that a hostile header cannot make us hold much. */
export const MAX_SESSION_ID_LENGTH = 128;

// The base64url alphabet: what newSessionId() produces, and safe in cookies, headers, logs and paths.
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A fresh session id: 128 random bits, base64url (22 characters). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export function isValidSessionId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= MAX_SESSION_ID_LENGTH && SESSION_ID_PATTERN.test(id);
}

/**
 * The INVALID_SESSION_ID error for `id`, for callers that count it before throwing. The message
 * describes what was received without echoing it: the id came from a client and may be huge or
 * carry control characters meant for a log.
 */
export function invalidSessionIdError(id: unknown): SessionLimitError {
  return new SessionLimitError(
    'INVALID_SESSION_ID',
    `Expected a session id of 1 to ${MAX_SESSION_ID_LENGTH} characters from [A-Za-z0-9_-] but received ${describe(id)}`,
  );
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  if (value.length === 0) return 'an empty string';
  if (value.length > MAX_SESSION_ID_LENGTH) return `a string of ${value.length} characters`;
  return `a string of ${value.length} characters with characters outside that set`;
}

/**
 * The name a session goes by in logs and on the admin endpoint: the first 16 hex digits of the id's
 * SHA-256. The id itself is a bearer credential (whoever presents it owns the session), so it is
 * never shown; an admin correlates by computing the tag of an id a user reports, and the tag cannot
 * be turned back into the id of a random 128-bit session.
 */
export function sessionTag(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}
