// The request id: the client's X-Request-Id when it is a sane token, else a fresh one. It names the
// request in the log (Fastify's request id) and comes back on every response, so a client and an
// operator can find the same request. A client's id is checked because it lands in log lines and
// response headers verbatim.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Long enough for a UUID with a prefix or a tracing id; short enough not to bloat every log line. */
export const MAX_REQUEST_ID_LENGTH = 128;

// Letters, digits and the separators tracing systems use; nothing a log or a header could misread.
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;

export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID_PATTERN.test(value);
}

/** Fastify's genReqId: the client's id when valid, else a new UUID. */
export function requestIdOf(raw: IncomingMessage): string {
  const header = raw.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return isValidRequestId(value) ? value : randomUUID();
}
