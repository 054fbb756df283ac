// What the HTTP service runs on. The composition root (src/server) builds these from the
// configuration and hands them to buildApp; `close()` frees them in reverse order.
import type { MemoryManager } from '../memory/memory-manager.js';
import type { SessionManager } from '../memory/sessions/index.js';
import type { TempFileRegistry } from '../memory/temp-files/index.js';
import type { ModelHost } from '../model/host.js';
import type { AdmissionQueue } from './admission-queue.js';
import type { ServerConfig } from './config.js';
import type { SessionGate } from './session-gate.js';

export interface Services {
  config: ServerConfig;
  files: TempFileRegistry;
  sessions: SessionManager;
  /** Where requests over their session's concurrency wait for a slot. */
  sessionGate: SessionGate;
  model: ModelHost;
  memory: MemoryManager;
  queue: AdmissionQueue;
  /** Admission for decoding, apart from the transcriptions, so a slow decode holds no transcription slot. */
  decoding: AdmissionQueue;
  /** Frees everything: timers, sessions (and what they hold), the model, the temp files. */
  close(): Promise<void>;
}
