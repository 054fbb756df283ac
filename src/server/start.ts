// The composition root of `talk2me serve`: makes sure the model file is there, builds the services
// and the HTTP app from them, listens, and shuts down gracefully on SIGTERM/SIGINT (not ready for
// READY_DRAIN_S while still serving, then stop accepting, finish in-flight work within
// SHUTDOWN_TIMEOUT_S, remove temp files, free the model, exit 0).
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';

import type { FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';

import { buildApp } from '../http/app.js';
import type { ServerConfig } from '../http/config.js';
import type { ReadinessState } from '../http/routes/health.js';
import type { Services } from '../http/services.js';
import { logNativeTo } from '../native/index.js';
import { fetchModel, type FetchProgress } from '../model/fetch.js';
import { installExitCleanup } from './exit-cleanup.js';
import { createLogger, type LogFileOptions } from './logger.js';
import { createServices, type ServiceOverrides } from './services.js';
import { DEFAULT_MODEL_PATH, threadBudget } from './settings.js';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  logger: PinoLogger;
  /** Graceful shutdown; resolves when everything is freed. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

/** How a first-run model download is shown (the CLI passes its progress bar). */
export interface DownloadReporter {
  onProgress(progress: FetchProgress): void;
  finish(message: string): void;
  fail(message: string): void;
}

export interface StartOptions extends ServiceOverrides {
  logger?: PinoLogger;
  /** Install SIGINT/SIGTERM handlers that shut down and exit (the CLI does; tests do not). */
  handleSignals?: boolean;
  /** Shows the download of a missing default model; without it the download is only logged. */
  download?: (file: string) => DownloadReporter;
}

/** Makes sure the model file exists: the default one is downloaded on first run. */
export async function ensureModel(config: ServerConfig, logger: PinoLogger, download?: StartOptions['download']): Promise<void> {
  if (existsSync(config.modelPath)) return;
  if (config.modelPath !== DEFAULT_MODEL_PATH) {
    throw new Error(`The model ${config.modelPath} does not exist. Download one with \`npx talk2me model fetch tiny.en\` and set WHISPER_MODEL.`);
  }
  const name = basename(config.modelPath).replace(/^ggml-/, '').replace(/\.bin$/, '');
  logger.info({ model: name }, `The model ${config.modelPath} is missing: downloading ggml-${name}.bin`);
  const reporter = download?.(`ggml-${name}.bin`);
  try {
    await fetchModel(name, { dir: dirname(config.modelPath), ...(reporter && { onProgress: (p: FetchProgress) => reporter.onProgress(p) }) });
    reporter?.finish(`${config.modelPath}: downloaded`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    reporter?.fail('failed'); // the message is in the error, printed once by whoever catches it
    throw new Error(
      `Could not download ${config.modelPath} (${message}). ` +
        'When offline, copy a model there, or point WHISPER_MODEL at one (`npx talk2me model synth` writes a synthetic one for smoke tests).',
    );
  }
}

/** Where the server's log file goes, as the logger takes it; null when LOG_FILE is off. */
export function logFileOf(config: ServerConfig): LogFileOptions | null {
  return config.logFile === null ? null : { path: config.logFile, maxBytes: config.logFileMaxMb * 1024 * 1024, keep: config.logFileKeep };
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, file: logFileOf(config) });
  logNativeTo(logger, logger.level); // whisper.cpp's own reasons (a model it cannot load) land in our log
  if (!config.adminToken) logger.warn('ADMIN_TOKEN is not set: the /admin routes are disabled and answer 404');
  await ensureModel(config, logger, options.download);
  const services = await createServices(config, logger, options);
  const readiness: ReadinessState = { shuttingDown: false };
  let app: FastifyInstance;
  try {
    await services.model.acquire(); // a bad model fails start-up, not the first request
    app = await buildApp({ services, logger, readiness });
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await services.close().catch(() => undefined);
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
      if (config.readyDrainS > 0) {
        // /ready now answers 503 while everything else still works: a load balancer's checks see
        // it and stop sending work here before the listener closes under requests on their way.
        logger.info({ reason, drainS: config.readyDrainS }, 'Shutting down: not ready; still serving while load balancers move new work elsewhere');
        await new Promise((resolve) => setTimeout(resolve, config.readyDrainS * 1000));
      }
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
