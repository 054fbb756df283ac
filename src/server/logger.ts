// pino to stdout and to LOG_FILE (created with its directory). Tokens never reach a log line:
// header and config paths that could carry them are redacted.
import { mkdirSync } from 'node:fs';
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

export function createLogger(options: { level: string; file: string | null; stdout?: NodeJS.WritableStream }): PinoLogger {
  const streams: pino.StreamEntry[] = [{ level: options.level as pino.Level, stream: options.stdout ?? process.stdout }];
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push({ level: options.level as pino.Level, stream: pino.destination({ dest: options.file, sync: false, mkdir: true }) });
  }
  return pino({ level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, pino.multistream(streams));
}
