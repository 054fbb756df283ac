// Everything the server runs on, built from the configuration in one place and closed in reverse
// order: temp file registry, sessions, the model host, the memory manager, the admission queue.
import type { Logger } from '../shared/logger.js';
import { MemoryManager } from '../memory/memory-manager.js';
import { ModelHost, type ModelLoader } from '../model/host.js';
import { SessionManager } from '../memory/sessions/index.js';
import { TempFileRegistry } from '../memory/temp-files/index.js';
import { AdmissionQueue } from './admission-queue.js';
import { threadBudget, type ServerConfig } from './config.js';

export interface Services {
  config: ServerConfig;
  files: TempFileRegistry;
  sessions: SessionManager;
  model: ModelHost;
  memory: MemoryManager;
  queue: AdmissionQueue;
}

export interface ServiceOverrides {
  /** A stand-in model loader (tests). */
  loader?: ModelLoader;
}

export async function createServices(config: ServerConfig, logger: Logger, overrides: ServiceOverrides = {}): Promise<Services> {
  const m = config.memory;
  const files = await TempFileRegistry.open({ dir: m.uploadDir, logger });
  const sessions = new SessionManager({
    maxConcurrentPerSession: m.sessionMaxConcurrent,
    maxTempBytesPerSession: m.sessionMaxTempMb * 1024 * 1024,
    maxSessions: m.sessionMax,
    idleTimeoutMs: m.sessionIdleTimeoutS * 1000,
    logger,
  });
  const model = new ModelHost({
    path: config.modelPath,
    loadOptions: { threads: config.whisperThreads ?? threadBudget(), maxStates: config.maxConcurrency },
    trimPolicy: m.trimAfterTranscription,
    idleUnloadMs: m.modelIdleUnloadS * 1000,
    logger,
    ...(overrides.loader && { loader: overrides.loader }),
  });
  const memory = new MemoryManager({ settings: m, model, files, sessions, logger });
  const queue = new AdmissionQueue({
    concurrency: config.maxConcurrency,
    maxQueue: config.maxQueue,
    ...(config.whisperThreads === null ? { threadBudget: threadBudget() } : { threadsPerTranscription: config.whisperThreads }),
  });
  return { config, files, sessions, model, memory, queue };
}

/** Frees everything: timers, sessions (and what they hold), the model, the temp files. */
export async function closeServices(services: Services): Promise<void> {
  await services.memory.close();
  await services.sessions.closeAll();
  await services.model.dispose();
  await services.files.close();
}
