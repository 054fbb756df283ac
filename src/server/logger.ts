// pino to stdout and to LOG_FILE (created with its directory). Tokens never reach a log line:
// header and config paths that could carry them are redacted.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

import pino, { type Logger as PinoLogger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers["x-admin-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-admin-token"]',
  'headers.authorization',
  'adminToken',
  'metricsToken',
  'config.adminToken',
  'config.metricsToken',
];

export interface LogFileOptions {
  path: string;
  /** The file is rotated when a line would take it past this many bytes. */
  maxBytes: number;
  /** Rotated files kept: path.1 (the newest) to path.<keep>; 0 keeps none. */
  keep: number;
  /** Write each line before returning (default false: buffered, asynchronous). */
  sync?: boolean;
}

/**
 * The log file, rotated by size so a server left alone for weeks cannot fill its disk with logs:
 * the full file becomes path.1 (path.1 becomes path.2, and so on; the oldest is removed), and
 * writing goes on in a fresh file. Writes stay asynchronous (SonicBoom); a rotation renames the
 * files, then reopens the path, and lines still in flight land in the renamed file.
 */
export function rotatingLogFile(options: LogFileOptions): { write(line: string): boolean; flushSync(): void; end(): void } {
  mkdirSync(dirname(options.path), { recursive: true });
  const dest = pino.destination({ dest: options.path, sync: options.sync ?? false, mkdir: true });
  let size = existsSync(options.path) ? statSync(options.path).size : 0;
  const rotate = (): void => {
    rmSync(`${options.path}.${options.keep}`, { force: true });
    for (let n = options.keep - 1; n >= 1; n--) {
      if (existsSync(`${options.path}.${n}`)) renameSync(`${options.path}.${n}`, `${options.path}.${n + 1}`);
    }
    if (options.keep > 0) renameSync(options.path, `${options.path}.1`);
    else rmSync(options.path, { force: true });
    dest.reopen();
    size = 0;
  };
  return {
    write(line: string): boolean {
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > options.maxBytes) {
        try {
          rotate();
        } catch {
          // A file that cannot be renamed (a read-only directory) is written on, unrotated,
          // rather than losing the log.
        }
      }
      size += bytes;
      return dest.write(line);
    },
    flushSync: () => {
      // Before the file is open there is nothing to flush, and SonicBoom would throw.
      try {
        dest.flushSync();
      } catch {
        /* not open yet */
      }
    },
    end: () => dest.end(),
  };
}

export function createLogger(options: { level: string; file: LogFileOptions | null; stdout?: NodeJS.WritableStream }): PinoLogger {
  const streams: pino.StreamEntry[] = [{ level: options.level as pino.Level, stream: options.stdout ?? process.stdout }];
  if (options.file) streams.push({ level: options.level as pino.Level, stream: rotatingLogFile(options.file) });
  return pino({ level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, pino.multistream(streams));
}
