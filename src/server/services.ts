// Everything the server runs on, built from the configuration in one place and closed in reverse
// order: temp file registry, sessions, the model host, the memory manager, the admission queues.
import { AdmissionQueue } from '../http/admission-queue.js';
import type { ServerConfig } from '../http/config.js';
import { SessionGate } from '../http/session-gate.js';
import type { Services } from '../http/services.js';
import { MemoryManager } from '../memory/memory-manager.js';
import type { MemoryProbes } from '../memory/probes.js';
import { SessionManager } from '../memory/sessions/index.js';
import { TempFileRegistry } from '../memory/temp-files/index.js';
import { ModelHost, type ModelLoader } from '../model/host.js';
import type { Logger } from '../shared/logger.js';
import { threadBudget } from './settings.js';

export interface ServiceOverrides {
  /** A stand-in model loader (tests). */
  loader?: ModelLoader;
  /** Simulated process and system readings for the memory manager (tests: memory pressure without filling memory). */
  probes?: MemoryProbes;
}

export async function createServices(config: ServerConfig, logger: Logger, overrides: ServiceOverrides = {}): Promise<Services> {
  const m = config.memory;
  const files = await TempFileRegistry.open({ dir: m.uploadDir, logger });
  const sessions = new SessionManager({
    maxConcurrentPerSession: m.sessionMaxConcurrent,
    maxTempBytesPerSession: Math.round(m.sessionMaxTempMb * 1024 * 1024),
    maxSessions: m.sessionMax,
    idleTimeoutMs: m.sessionIdleTimeoutS * 1000,
    maxSessionsPerAddress: m.sessionMaxPerAddress,
    maxConcurrentPerAddress: m.addressMaxConcurrent,
    maxTempBytesPerAddress: Math.round(m.addressMaxTempMb * 1024 * 1024),
    maxTempBytesTotal: Math.round(m.uploadMaxStagedMb * 1024 * 1024),
    logger,
  });
  const model = new ModelHost({
    path: config.modelPath,
    loadOptions: { threads: config.whisperThreads ?? threadBudget(), maxStates: config.maxConcurrency },
    trimPolicy: m.trimAfterTranscription,
    idleUnloadMs: m.modelIdleUnloadS * 1000,
    reloadDrainMs: config.readyDrainS * 1000,
    logger,
    ...(overrides.loader && { loader: overrides.loader }),
  });
  const memory = new MemoryManager({ settings: m, model, files, sessions, logger, ...(overrides.probes && { probes: overrides.probes }) });
  const queue = new AdmissionQueue({
    concurrency: config.maxConcurrency,
    maxQueue: config.maxQueue,
    ...(config.whisperThreads === null ? { threadBudget: threadBudget() } : { threadsPerTranscription: config.whisperThreads }),
  });
  // One thread each: ffmpeg is started with -threads 1, and the in-process WAV decoder is one
  // thread too. Waiting decodes hold only their upload file, not decoded audio.
  const decoding = new AdmissionQueue({ concurrency: config.decodeConcurrency, maxQueue: config.maxQueue, threadsPerTranscription: 1, work: 'decodes' });
  const close = async (): Promise<void> => {
    await memory.close();
    sessions.closeAll();
    await model.dispose();
    await files.close();
  };
  const sessionGate = new SessionGate(sessions, m.sessionMaxQueued);
  return { config, files, sessions, sessionGate, model, memory, queue, decoding, close };
}
