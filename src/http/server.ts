// `talk2me serve`: the model, the memory manager and the HTTP API in one process, with a graceful
// shutdown on SIGTERM/SIGINT (stop accepting, finish in-flight work within SHUTDOWN_TIMEOUT_S,
// remove temp files, free the model, exit 0).
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';

import type { FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';

import { ProgressBar } from '../cli/progress-bar.js';
import { installExitCleanup } from '../server/exit-cleanup.js';
import { fetchModel } from '../model/fetch.js';
import { buildApp } from './app.js';
import { DEFAULT_MODEL_PATH, threadBudget, type ServerConfig } from './config.js';
import { createLogger } from './logger.js';
import type { ReadinessState } from './routes/health.js';
import { closeServices, createServices, type ServiceOverrides, type Services } from './services.js';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  logger: PinoLogger;
  /** Graceful shutdown; resolves when everything is freed. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions extends ServiceOverrides {
  logger?: PinoLogger;
  /** Install SIGINT/SIGTERM handlers that shut down and exit (the CLI does; tests do not). */
  handleSignals?: boolean;
}

/** Makes sure the model file exists: the default one is downloaded on first run. */
export async function ensureModel(config: ServerConfig, logger: PinoLogger): Promise<void> {
  if (existsSync(config.modelPath)) return;
  if (!config.modelFetch || config.modelPath !== DEFAULT_MODEL_PATH) {
    throw new Error(`The model ${config.modelPath} does not exist. Download one with \`npx talk2me model fetch tiny.en\` and set WHISPER_MODEL.`);
  }
  const name = basename(config.modelPath).replace(/^ggml-/, '').replace(/\.bin$/, '');
  logger.info({ model: name }, `The model ${config.modelPath} is missing: downloading ggml-${name}.bin`);
  const bar = new ProgressBar({ label: `ggml-${name}.bin` });
  try {
    await fetchModel(name, { dir: dirname(config.modelPath), onProgress: bar.onProgress });
    bar.finish(`${config.modelPath}: downloaded`);
  } catch (err) {
    bar.fail(err instanceof Error ? err.message : String(err));
    throw new Error(
      `Could not download ${config.modelPath} (${err instanceof Error ? err.message : String(err)}). ` +
        'When offline, copy a model there, or point WHISPER_MODEL at one (`npx talk2me model synth` writes a synthetic one for smoke tests).',
    );
  }
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, file: config.logFile });
  if (!config.adminToken) logger.warn('ADMIN_TOKEN is not set: the /admin routes are disabled and answer 404');
  await ensureModel(config, logger);
  const services = await createServices(config, logger, options);
  const readiness: ReadinessState = { shuttingDown: false };
  let app: FastifyInstance;
  try {
    await services.model.acquire(); // a bad model fails start-up, not the first request
    app = await buildApp({ services, logger, readiness });
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await closeServices(services).catch(() => undefined);
    throw err;
  }
  services.memory.start();
  const address = app.server.address();
  const url = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  logger.info(
    { url, model: config.modelPath, threads: config.whisperThreads ?? `shared (${threadBudget()})`, maxConcurrency: config.maxConcurrency, maxQueue: config.maxQueue, uploadDir: config.memory.uploadDir },
    'talk2me is listening',
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      readiness.shuttingDown = true;
      logger.info({ reason, inflight: services.queue.running, queued: services.queue.queued }, 'Shutting down: no new connections; finishing in-flight work');
      const deadline = setTimeout(() => {
        logger.warn({ timeoutS: config.shutdownTimeoutS }, 'Shutdown timeout: aborting in-flight work');
        void services.model.dispose(); // cancels running transcriptions
        app.server.closeAllConnections();
      }, config.shutdownTimeoutS * 1000);
      deadline.unref();
      try {
        await app.close(); // stops accepting, waits for in-flight requests, then closes the services
      } finally {
        clearTimeout(deadline);
      }
      logger.info('Shut down');
    })();
    return shuttingDown;
  };

  if (options.handleSignals) {
    installExitCleanup(services.files, {
      logger,
      onSignal: async (signal) => {
        await shutdown(signal);
        logger.flush();
        process.exit(0);
      },
    });
  }
  return { app, services, url, logger, shutdown };
}
