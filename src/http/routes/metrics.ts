// GET /metrics in Prometheus' text format, behind a bearer token when METRICS_TOKEN is set.
import type { FastifyInstance } from 'fastify';

import { requireToken } from '../token-guard.js';

export async function metricsRoutes(app: FastifyInstance, options: { token: string | null }): Promise<void> {
  // Scrapes come every few seconds: kept out of the log at info, like the health probes.
  app.get('/metrics', { logLevel: 'warn', ...(options.token && { preHandler: requireToken(options.token, 'authorization') }) }, async (_request, reply) => {
    const { registry } = app.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
