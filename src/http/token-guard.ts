// X-Admin-Token for /admin/*: compared in constant time, never logged. Without ADMIN_TOKEN the
// admin routes are not registered at all (404), and start-up warns.
import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { HttpError } from './errors.js';

// Hashing first gives both sides the same length, so timingSafeEqual never leaks the token's length.
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}

/** A preHandler that lets a request through only with the right token in `header`. */
export function requireToken(expected: string, header: 'x-admin-token' | 'authorization') {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const raw = request.headers[header];
    const value = Array.isArray(raw) ? raw[0] : raw;
    const presented = header === 'authorization' ? /^Bearer\s+(.+)$/i.exec(value ?? '')?.[1] : value;
    if (!tokenMatches(expected, presented)) {
      throw new HttpError(401, 'UNAUTHORIZED', header === 'authorization' ? 'A valid bearer token is required' : 'A valid X-Admin-Token header is required');
    }
  };
}
