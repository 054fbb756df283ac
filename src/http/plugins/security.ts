// What every request passes and every response carries: the Host check against DNS rebinding,
// the X-Request-Id echo, the security headers, a JSON 503 for requests that arrive while the
// server closes (in place of Fastify's own body, which has another shape), and keep-alive
// connections closed as their last answer of the drain goes out.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

import { HttpError } from '../errors.js';
import { hostGuard } from '../host-check.js';
import { REQUEST_ID_HEADER } from '../request-id.js';
import { SECURITY_HEADERS } from '../security-headers.js';

export interface SecurityPluginOptions {
  /** The address the server listens on (HOST). */
  boundHost: string;
  /** ALLOWED_HOSTS. */
  allowedHosts: readonly string[];
}

export const securityPlugin = fp(
  async (app: FastifyInstance, options: SecurityPluginOptions) => {
    const allows = hostGuard(options.boundHost, options.allowedHosts);
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onRequest', async (request, reply) => {
      if (closing) {
        throw new HttpError(503, 'SHUTTING_DOWN', 'The server is shutting down', { 'retry-after': '5', connection: 'close' });
      }
      // close() waits for every connection, and a keep-alive one whose answer ends during the drain
      // would stay open until its keep-alive timeout, holding the shutdown to SHUTDOWN_TIMEOUT_S.
      // Once an answer is out (hijacked streams included), idle connections are closed.
      reply.raw.once('finish', () => {
        if (closing) setImmediate(() => app.server.closeIdleConnections());
      });
      if (allows && !allows(request.headers.host)) {
        throw new HttpError(421, 'HOST_NOT_ALLOWED', 'This server does not answer for that Host; an operator can add it to ALLOWED_HOSTS');
      }
    });
    // At the last step, so error replies and 404s carry them too.
    app.addHook('onSend', async (request, reply) => {
      void reply.headers(SECURITY_HEADERS).header(REQUEST_ID_HEADER, request.id);
    });
  },
  { name: 'talk2me-security' },
);
