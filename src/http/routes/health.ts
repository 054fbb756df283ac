// GET /health: the process answers. GET /ready: it can take work now (readiness.ts says when it
// cannot), so a load balancer moves traffic elsewhere; 503 with the reason otherwise.
import type { FastifyInstance } from 'fastify';

import { readinessOf, type ReadinessState } from '../readiness.js';

export type { ReadinessState } from '../readiness.js';

export async function healthRoutes(app: FastifyInstance, options: { readiness: ReadinessState }): Promise<void> {
  const startedAt = Date.now();
  // Probes come every few seconds from load balancers and orchestrators: their request lines stay
  // out of the log at info, where they would bury everything else.
  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000) }));

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const readiness = await readinessOf(app.services, options.readiness);
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
}
