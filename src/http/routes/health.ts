// GET /health: the process answers. GET /ready: it can take work now — 503 while the model loads
// for the first time, while a reload drains, and during shutdown, so a load balancer moves traffic.
import type { FastifyInstance } from 'fastify';

export interface ReadinessState {
  shuttingDown: boolean;
}

export async function healthRoutes(app: FastifyInstance, options: { readiness: ReadinessState }): Promise<void> {
  const startedAt = Date.now();
  // Probes come every few seconds from load balancers and orchestrators: their request lines stay
  // out of the log at info, where they would bury everything else.
  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000) }));

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const { model } = app.services;
    const state = model.state;
    const stats = model.stats();
    // An idle-unloaded model loads on the next request: still ready.
    const ready = !options.readiness.shuttingDown && (state === 'ready' || (state === 'unloaded' && stats.unloads > 0));
    const reason = options.readiness.shuttingDown ? 'shutting down' : state === 'reloading' ? 'model reload draining' : state;
    return reply.code(ready ? 200 : 503).send({ ready, model: state, ...(ready ? {} : { reason }) });
  });
}
