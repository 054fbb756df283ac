// whisper.cpp and ggml log lines, delivered to our logger. Quiet unless asked: nothing is
// forwarded until setNativeLogger() is called.
import type { Logger } from '../shared/logger.js';
import { loadBinding, type NativeLogLevel } from './binding.js';

export type { NativeLogLevel };
export type NativeLogHandler = (level: NativeLogLevel, line: string) => void;

/**
 * Sends native log lines at or above `minLevel` (default "warn") to `handler`; null silences them.
 * The handler runs from the event loop, outside any caller: an exception it throws is dropped (with
 * one process warning) rather than becoming an uncaught exception.
 */
export function setNativeLogger(handler: NativeLogHandler | null, minLevel: NativeLogLevel = 'warn'): void {
  loadBinding().setLogger(handler && contained(handler), minLevel);
}

function contained(handler: NativeLogHandler): NativeLogHandler {
  let warned = false;
  return (level, line) => {
    try {
      handler(level, line);
    } catch (err) {
      if (warned) return;
      warned = true;
      try {
        process.emitWarning(`The native log handler threw; its lines are dropped: ${err instanceof Error ? err.message : String(err)}`);
      } catch {
        // Nothing left to tell it to.
      }
    }
  };
}

const NATIVE_LEVEL: Record<string, NativeLogLevel | undefined> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', error: 'error', fatal: 'error' };

/**
 * Writes whisper.cpp's and ggml's lines into `logger` (tagged `native: 'whisper'`) at their own
 * levels, from `level` up (a pino level name; "silent" silences them): the reason whisper.cpp gives
 * for a model it cannot load is only ever in these lines.
 */
export function logNativeTo(logger: Logger, level: string): void {
  const minLevel = NATIVE_LEVEL[level];
  if (!minLevel) {
    setNativeLogger(null);
    return;
  }
  setNativeLogger((lineLevel, line) => logger[lineLevel]({ native: 'whisper' }, line), minLevel);
}
