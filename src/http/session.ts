// Which session a request belongs to: the X-Session-Id header, else the talk2me_session cookie,
// else the session of the client's address.
//
// A request that names no session must not create one of its own: API clients (curl, the OpenAI
// SDK) keep no cookies, so each of their requests would hold a new session for the idle timeout
// and a busy client would fill SESSION_MAX for everyone. Such requests share one session per
// client address instead, so the per-session limits still apply to them. The reply offers a
// cookie with a fresh id, so a browser gets a session of its own from its next request on.
import { createHmac, randomBytes } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { newSessionId } from '../memory/sessions/index.js';

export const SESSION_COOKIE = 'talk2me_session';
export const SESSION_HEADER = 'x-session-id';

// Keyed with a secret of this process: an address is easy to guess, and a client that could
// compute another address's session id could spend that session's allowances.
const ADDRESS_KEY = randomBytes(32);

/** The session of requests from `address` that name none: `addr-` and 22 base64url characters. */
export function addressSessionId(address: string): string {
  return `addr-${createHmac('sha256', ADDRESS_KEY).update(address).digest('base64url').slice(0, 22)}`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session id of the request (validated by the session manager when used). */
export function sessionIdOf(request: FastifyRequest, reply: FastifyReply): string {
  const header = request.headers[SESSION_HEADER];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader !== undefined) return fromHeader;
  const fromCookie = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (fromCookie !== undefined) return fromCookie;
  void reply.header('set-cookie', `${SESSION_COOKIE}=${newSessionId()}; Path=/; HttpOnly; SameSite=Lax`);
  return addressSessionId(request.ip);
}
