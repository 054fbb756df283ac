// The Fastify application: shared decorators in plugins/, encapsulated routes/. Back-pressure
// (@fastify/under-pressure) guards the transcription routes only, so admin, health and metrics
// stay reachable when the service is loaded.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';

import { errorBody } from './errors.js';
import { clientErrorHandler, errorsPlugin, frameworkErrorHandler } from './plugins/errors.js';
import { metricsPlugin } from './plugins/metrics.js';
import { securityPlugin } from './plugins/security.js';
import { servicesPlugin } from './plugins/services.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import type { ReadinessState } from './readiness.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelsRoutes } from './routes/models.js';
import { openaiRoutes } from './routes/openai.js';
import { transcribeRoutes } from './routes/transcribe.js';
import { whisperServerLoadRoute, whisperServerRoutes } from './routes/whisper-server.js';
import { requireToken } from './token-guard.js';
import type { TrustProxy } from './config.js';
import { requestIdOf } from './request-id.js';
import type { Services } from './services.js';

export interface AppOptions {
  services: Services;
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  /** Whether closing the app closes the services too (default true). */
  closeServices?: boolean;
  readiness?: ReadinessState;
}

// A hop count as the function Fastify runs it as (its types take no number): the first n hops,
// counted from this server, are trusted proxies.
function trustProxyOption(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { services } = options;
  const { config } = services;
  const logger = options.logger;
  const app = Fastify({
    ...(logger && typeof (logger as { child?: unknown }).child === 'function'
      ? { loggerInstance: logger as FastifyServerOptions['loggerInstance'] }
      : { logger: (logger as FastifyServerOptions['logger']) ?? false }),
    bodyLimit: 64 * 1024, // JSON bodies (admin); uploads are multipart and have their own limit
    requestTimeout: (config.requestTimeoutS + 30) * 1000,
    trustProxy: trustProxyOption(config.trustProxy),
    genReqId: requestIdOf,
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    // The security plugin answers requests that arrive while closing, in the API's error shape.
    return503OnClosing: false,
  });
  const readiness = options.readiness ?? { shuttingDown: false };

  await app.register(errorsPlugin);
  await app.register(securityPlugin, { boundHost: config.host, allowedHosts: config.allowedHosts });
  await app.register(servicesPlugin, { services, closeOnExit: options.closeServices !== false });
  await app.register(metricsPlugin, { readiness });

  await app.register(healthRoutes, { readiness });
  await app.register(metricsRoutes, { token: config.metricsToken });
  if (config.corsOrigins.length > 0) {
    // Browser apps on other origins; the page served here is same-origin and needs none of this.
    await app.register(cors, {
      origin: config.corsOrigins[0] === '*' ? '*' : config.corsOrigins,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'x-session-id', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }
  if (config.adminToken) {
    await app.register(adminRoutes, { token: config.adminToken });
    const adminToken = config.adminToken;
    await app.register(async (load) => {
      await load.register(multipart, { limits: { files: 1, fields: 4, fieldSize: 4096, parts: 5 } });
      await load.register(whisperServerLoadRoute, { adminToken });
    });
  }

  // The API clients call: with API_KEY, every route in here wants `Authorization: Bearer KEY`,
  // checked before a byte of the body is read.
  await app.register(async (api) => {
    if (config.apiKey) api.addHook('onRequest', requireToken(config.apiKey, 'authorization', 'API_KEY'));
    await api.register(modelsRoutes);
    await api.register(async (transcription) => {
      await transcription.register(multipart, {
        limits: { fileSize: config.maxUploadMb * 1024 * 1024, files: 2, fields: 20, fieldSize: 64 * 1024, parts: 30, headerPairs: 50 },
      });
      await transcription.register(underPressure, {
        maxEventLoopDelay: 2000,
        maxEventLoopUtilization: 0.995,
        // Utilisation over the last sample, not since start-up: a cumulative figure barely moves
        // after a long uptime and stays high for long after a busy start.
        eventLoopUtilizationMode: 'interval',
        retryAfter: 5,
        pressureHandler: (_request, reply, type, value) => {
          void reply
            .code(503)
            .header('retry-after', '5')
            .send(errorBody(503, 'UNDER_PRESSURE', `The server is under pressure (${type}${value === undefined ? '' : ` ${value}`})`));
        },
      });
      await transcription.register(transcribeRoutes);
      await transcription.register(openaiRoutes);
      await transcription.register(whisperServerRoutes);
    });
  });

  const webRoot = resolve(config.webRoot);
  if (existsSync(webRoot)) await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'] });
  return app;
}
