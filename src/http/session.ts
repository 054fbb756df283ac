// Which session a request belongs to: the X-Session-Id header, else the talk2me_session cookie,
// else a new session whose id is set as a cookie (HttpOnly, SameSite=Lax).
import type { FastifyReply, FastifyRequest } from 'fastify';

import { newSessionId } from '../memory/sessions.js';

export const SESSION_COOKIE = 'talk2me_session';
export const SESSION_HEADER = 'x-session-id';

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
  const id = newSessionId();
  void reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
  return id;
}
