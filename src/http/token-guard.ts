// Tokens: X-Admin-Token for /admin/* and POST /load, bearer tokens for /metrics (METRICS_TOKEN) and
// the API (API_KEY); compared in constant time, never logged. Without ADMIN_TOKEN the admin routes
// are not registered at all (404), and start-up warns.
import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { HttpError } from './errors.js';

// Hashing first gives both sides the same length, so timingSafeEqual never leaks the token's length.
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}

/** A hook that lets a request through only with the right token in `header`; `what` names it in the refusal. */
export function requireToken(expected: string, header: 'x-admin-token' | 'authorization', what?: string) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const raw = request.headers[header];
    const value = Array.isArray(raw) ? raw[0] : raw;
    const presented = header === 'authorization' ? /^Bearer\s+(.+)$/i.exec(value ?? '')?.[1] : value;
    if (!tokenMatches(expected, presented)) {
      const message = what ? `A valid ${what} is required (Authorization: Bearer KEY)` : header === 'authorization' ? 'A valid bearer token is required' : 'A valid X-Admin-Token header is required';
      throw new HttpError(401, 'UNAUTHORIZED', message, header === 'authorization' ? { 'www-authenticate': 'Bearer' } : {});
    }
  };
}
