// One error shape for the whole API: `{ error: { code, message } }`, 404s included.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

import { mapError } from '../errors.js';

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err, request, reply) => {
      const mapped = mapError(err);
      if (mapped.internal) request.log.error({ err }, 'Request failed');
      else request.log.info({ code: mapped.body.error.code, statusCode: mapped.statusCode }, mapped.body.error.message);
      if (reply.sent || reply.raw.destroyed) return;
      void reply.code(mapped.statusCode).headers(mapped.headers).send(mapped.body);
    });
    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send({ error: { code: 'NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}` } });
    });
  },
  { name: 'talk2me-errors' },
);
