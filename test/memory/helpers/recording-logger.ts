import type { Logger } from '../../../src/shared/logger.js';

export interface LoggedRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

/** A Logger that keeps what it is given, for assertions. */
export function recordingLogger(): Logger & { records: LoggedRecord[] } {
  const records: LoggedRecord[] = [];
  const at = (level: LoggedRecord['level']) => (obj: object, msg?: string) => {
    records.push({ level, obj, msg });
  };
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
