// whisper.cpp and ggml log lines, delivered to our logger. Quiet unless asked: nothing is
// forwarded until setNativeLogger() is called.
import { loadBinding, type NativeLogLevel } from './binding.js';

export type { NativeLogLevel };
export type NativeLogHandler = (level: NativeLogLevel, line: string) => void;

/** Sends native log lines at or above `minLevel` (default "warn") to `handler`; null silences them. */
export function setNativeLogger(handler: NativeLogHandler | null, minLevel: NativeLogLevel = 'warn'): void {
  loadBinding().setLogger(handler, minLevel);
}
