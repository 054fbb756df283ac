// GET /health: the process answers. GET /ready: it can take work now — 503 while the model loads
// for the first time, while a reload drains, while uploads cannot be staged (UPLOAD_DIR gone and not
// recreatable, or its disk short of space), and during shutdown, so a load balancer moves traffic.
import type { FastifyInstance } from 'fastify';

import { stagingProblem } from '../staging.js';

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
    const modelReady = state === 'ready' || (state === 'unloaded' && stats.unloads > 0);
    // Also recreates a vanished upload directory, so readiness comes back by itself.
    const staging = await stagingProblem(app.services);
    const ready = !options.readiness.shuttingDown && modelReady && staging === null;
    const why = (): string => {
      if (options.readiness.shuttingDown) return 'shutting down';
      if (!modelReady) return state === 'reloading' ? 'model reload draining' : state;
      return staging?.code === 'INSUFFICIENT_STORAGE' ? 'upload directory short of disk space' : 'upload directory unavailable';
    };
    const reason = ready ? undefined : why();
    return reply.code(ready ? 200 : 503).send({ ready, model: state, ...(reason !== undefined && { reason }) });
  });
}
