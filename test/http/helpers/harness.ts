// A talk2me server for one test file: a temp root holding a synthetic mini model, the upload
// directory and the log file; the app built in-process (app.inject) or listening on 127.0.0.1:0.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import type { FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';

import { buildApp } from '../../../src/http/app.js';
import type { ServerConfig } from '../../../src/http/config.js';
import { createLogger, createServices, logFileOf, readServerConfig, startServer, type RunningServer, type ServiceOverrides } from '../../../src/server/index.js';
import type { ReadinessState } from '../../../src/http/routes/health.js';
import type { Services } from '../../../src/http/services.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { writeSyntheticModel, type SyntheticDecoder } from '../../../src/model/synthetic.js';
import { tempDir } from '../../helpers/temp-dir.js';

export const ADMIN_TOKEN = 'admin-token-0123456789-abcdef-SECRET';
export const METRICS_TOKEN = 'metrics-token-9876543210-SECRET';

export interface Root {
  path: string;
  model: string;
  remove(): Promise<void>;
}

/**
 * A temp directory with a mini synthetic model in it. Seed 7: random weights decode at different
 * costs, and with the default seed a process's first transcription costs about 0.9 s of CPU
 * (temperature fallbacks) against about 0.2 s with this one; every test file pays it once.
 * `decoder: 'speechlike'` where the decoder's work matters: 12 text tokens per 5 s segment.
 */
export async function makeRoot(name: string, { decoder = 'encoder-bound' }: { decoder?: SyntheticDecoder } = {}): Promise<Root> {
  const dir = await tempDir(`http-${name}`);
  const model = join(dir.path, 'mini.bin');
  await writeSyntheticModel(model, { dims: 'mini', seed: 7, decoder });
  return { path: dir.path, model, remove: dir.remove };
}

/** Lines written to a logger's stdout stream, kept for assertions. */
export class CapturedStdout extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface Instance {
  config: ServerConfig;
  services: Services;
  uploadDir: string;
  logFile: string;
  /** Files in the upload directory now. */
  uploads(): Promise<string[]>;
  /** The log file's text (after the logger has been flushed). */
  logText(): Promise<string>;
}

/** The environment of a test server: small, quiet, fast; `env` overrides. */
export function testEnv(root: Root, name: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    WHISPER_MODEL: root.model,
    UPLOAD_DIR: join(root.path, `uploads-${name}`),
    LOG_FILE: join(root.path, `${name}.log`),
    LOG_LEVEL: 'info',
    WHISPER_THREADS: '2',
    MAX_CONCURRENCY: '1',
    WEB_ROOT: join(root.path, 'no-web-root'),
    CLEANUP_INTERVAL_S: '3600',
    STATS_LOG_INTERVAL_S: '3600',
    ...env,
  };
}

function instanceOf(config: ServerConfig, services: Services): Instance {
  return {
    config,
    services,
    uploadDir: config.memory.uploadDir,
    logFile: config.logFile ?? '',
    uploads: () => readdir(config.memory.uploadDir),
    logText: () => (config.logFile === null ? Promise.resolve('') : readFile(config.logFile, 'utf8').catch(() => '')),
  };
}

export interface InjectInstance extends Instance {
  app: FastifyInstance;
  readiness: ReadinessState;
  close(): Promise<void>;
}

/** The app for app.inject, with its own services; no logger unless `logger` is given. */
export async function injectApp(
  root: Root,
  name: string,
  env: Record<string, string> = {},
  logger?: PinoLogger,
  overrides: ServiceOverrides = {},
): Promise<InjectInstance> {
  const config = readServerConfig(testEnv(root, name, env));
  const services = await createServices(config, logger ?? silentLogger, overrides);
  const readiness: ReadinessState = { shuttingDown: false };
  await services.model.acquire();
  const app = await buildApp({ services, readiness, ...(logger && { logger }) });
  await app.ready();
  return { ...instanceOf(config, services), app, readiness, close: () => app.close() };
}

export interface HttpInstance extends Instance {
  server: RunningServer;
  url: string;
  stdout: CapturedStdout;
  close(): Promise<void>;
}

/** A real server on 127.0.0.1 and a free port, logging to its log file and a captured stdout; `overrides` go to its services (simulated memory probes). */
export async function listen(root: Root, name: string, env: Record<string, string> = {}, overrides: ServiceOverrides = {}): Promise<HttpInstance> {
  const config = readServerConfig(testEnv(root, name, { HOST: '127.0.0.1', PORT: '0', ...env }));
  const stdout = new CapturedStdout();
  const logger = createLogger({ level: config.logLevel, file: logFileOf(config), stdout });
  const server = await startServer(config, { logger, ...overrides });
  return {
    ...instanceOf(config, server.services),
    server,
    url: server.url,
    stdout,
    close: () => server.shutdown('test over'),
    logText: async () => {
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      return config.logFile === null ? '' : readFile(config.logFile, 'utf8').catch(() => '');
    },
  };
}

/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Checks the API's one error shape and returns the code. */
export function errorCode(body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } })?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || error.message.length === 0) {
    throw new Error(`Expected { error: { code, message } } but received ${JSON.stringify(body)}`);
  }
  return error.code;
}
