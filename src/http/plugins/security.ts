// What every request passes and every response carries: the Host check against DNS rebinding,
// the X-Request-Id echo, the security headers, a JSON 503 for requests that arrive while the
// server closes (in place of Fastify's own body, which has another shape), and keep-alive
// connections closed soon after their last answer of the drain.
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

const DRAIN_KEEP_ALIVE_MS = 250;

export const securityPlugin = fp(
  async (app: FastifyInstance, options: SecurityPluginOptions) => {
    const allows = hostGuard(options.boundHost, options.allowedHosts);
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
      // close() waits for every connection. Idle ones are closed at once, but a keep-alive one whose
      // answer ends during the drain would then stay open for the keep-alive timeout (Fastify's
      // 72 s), holding the shutdown to SHUTDOWN_TIMEOUT_S. Node arms that timeout as each answer
      // ends (a hijacked stream's too), so a short one closes the connection soon after its last
      // answer, yet leaves time to read a request already pipelined behind it and refuse it.
      app.server.keepAliveTimeout = DRAIN_KEEP_ALIVE_MS;
    });
    app.addHook('onRequest', async (request) => {
      if (closing) {
        throw new HttpError(503, 'SHUTTING_DOWN', 'The server is shutting down', { 'retry-after': '5', connection: 'close' });
      }
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
