// What a soak runs against, and how it reads the server's memory, file descriptors and temporary
// files: a deployment at a URL (its /metrics), or a server this process starts on a model (read
// directly: the process's own RSS after a full garbage collection, /proc/self/fd, UPLOAD_DIR).
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { createLogger, readServerConfig, startServer, type RunningServer } from '../../server/index.js';
import { Talk2meError } from '../../shared/errors.js';
import { urlOf } from './client.js';

/** One reading of the server. Figures a target cannot see are null. */
export interface ServerReading {
  rssBytes: number;
  /** V8's heap in use: growth here is JavaScript; growth of RSS without it is native (whisper, buffers, the allocator). */
  heapUsedBytes: number | null;
  fds: number | null;
  tempFiles: number | null;
}

export interface SoakTarget {
  url: URL;
  /** For the report: what ran, and where its figures come from. */
  description: string;
  /** How RSS was read. */
  rssSource: string;
  /** The server's MAX_UPLOAD_MB. */
  uploadLimitMb: number;
  read(): Promise<ServerReading>;
  close(): Promise<void>;
}

export class SoakTargetError extends Talk2meError<'SOAK_TARGET'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SOAK_TARGET', message, options);
  }
}

// ---------------------------------------------------------------------------------------------
// A deployment

/** A value of a Prometheus text exposition, the first series of that name; null when absent. */
export function metricValue(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)(?: \\d+)?$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

async function getText(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

export async function urlTarget(base: URL, options: { metricsToken?: string; uploadLimitMb: number }): Promise<SoakTarget> {
  const headers: Record<string, string> = options.metricsToken ? { authorization: `Bearer ${options.metricsToken}` } : {};
  const metricsUrl = urlOf(base, '/metrics');
  const read = async (): Promise<ServerReading> => {
    let answer;
    try {
      answer = await getText(metricsUrl, headers, 15_000);
    } catch (err) {
      // fetch() says "fetch failed" and keeps the reason (ECONNREFUSED, a certificate) in its cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SoakTargetError(`Cannot read ${metricsUrl.href}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
    }
    if (answer.status === 401) throw new SoakTargetError(`${metricsUrl.href} answered 401: pass the server's METRICS_TOKEN as --metrics-token`);
    if (answer.status !== 200) throw new SoakTargetError(`${metricsUrl.href} answered ${answer.status}, not the server's metrics`);
    const rss = metricValue(answer.text, 'process_resident_memory_bytes');
    if (rss === null) throw new SoakTargetError(`${metricsUrl.href} has no process_resident_memory_bytes: is this a talk2me server?`);
    return {
      rssBytes: rss,
      heapUsedBytes: metricValue(answer.text, 'nodejs_heap_size_used_bytes'),
      fds: metricValue(answer.text, 'process_open_fds'),
      tempFiles: metricValue(answer.text, 'talk2me_temp_files'),
    };
  };
  await read(); // unreachable, or not talk2me: said now, not after the first thousand requests
  return {
    url: base,
    description: `${base.href} (figures from its /metrics)`,
    rssSource: 'process_resident_memory_bytes of /metrics, as the server reports it',
    uploadLimitMb: options.uploadLimitMb,
    read,
    close: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// A server in this process

/**
 * A full garbage collection, without --expose-gc on the command line: V8's young generation alone
 * swings the RSS by tens of MB from one reading to the next, which would bury a growth of a few KB
 * per request; after a full collection what is left is what the process keeps.
 */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc(); // a second pass frees what the first one's finalizers released
  };
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null; // not Linux
  }
}

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

export interface InProcessOptions {
  modelPath: string;
  /** The soak's own temp dir: UPLOAD_DIR goes in it. */
  dir: string;
  /** Where the server's log goes; null: logged at its level, then discarded. */
  serverLog: string | null;
  /** The server's settings, as `talk2me serve` reads them. */
  env: NodeJS.ProcessEnv;
}

/** Settings the soak gives its server unless the environment says otherwise: small uploads, so the oversized ones are cheap. */
const IN_PROCESS_DEFAULTS = { MAX_UPLOAD_MB: '1' };

export async function inProcessTarget(options: InProcessOptions): Promise<SoakTarget> {
  const uploadDir = join(options.dir, 'uploads');
  const config = readServerConfig({ ...IN_PROCESS_DEFAULTS, ...options.env }, { WHISPER_MODEL: options.modelPath, HOST: '127.0.0.1', PORT: '0', UPLOAD_DIR: uploadDir });
  const logger = createLogger({
    level: config.logLevel,
    file: options.serverLog === null ? null : { path: options.serverLog, maxBytes: config.logFileMaxMb * 1024 * 1024, keep: config.logFileKeep },
    stdout: discard(),
  });
  const server: RunningServer = await startServer(config, { logger });
  const gc = fullGc();
  return {
    url: new URL(server.url),
    description: `a server in this process on ${options.modelPath}, MAX_CONCURRENCY=${config.maxConcurrency}, MAX_UPLOAD_MB=${config.maxUploadMb}`,
    rssSource: 'this process, after a full garbage collection',
    uploadLimitMb: config.maxUploadMb,
    async read() {
      gc();
      const memory = process.memoryUsage();
      let tempFiles: number;
      try {
        tempFiles = (await readdir(uploadDir)).length;
      } catch {
        tempFiles = server.services.files.stats().count;
      }
      return { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, fds: openFds(), tempFiles };
    },
    close: () => server.shutdown('soak finished'),
  };
}
