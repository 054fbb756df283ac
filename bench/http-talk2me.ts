/**
 * talk2me's server as bench/http.ts runs it: in a process of its own (forked, so its RSS and file
 * descriptors are its own and it never shares an event loop with the load generator), started the
 * way `talk2me serve` starts it: startServer(readServerConfig(env)) with signal handling, so
 * SIGTERM shuts it down gracefully. The settings come from the environment the parent gives it.
 *
 * With --no-fallback the model the server loads is wrapped so that every transcription runs with
 * temperatureIncrement 0 (no temperature fallback); everything else (routes, upload, queue,
 * sessions, memory manager, WhisperModel) is the server's own code. The routes cannot turn the
 * fallback off, and with the synthetic model it always fires and samples text at random, so the
 * work per request would vary from run to run (see bench/RESULTS.md, bench:native).
 *
 * Tells the parent { type: 'listening', url } over IPC once it accepts connections. Started with
 * --expose-gc, it answers { type: 'settle' } with a full garbage collection and { type: 'settled' },
 * so the parent can read the RSS the process retains, without the swing of V8's young generation.
 */
import { readServerConfig, startServer } from '../src/server/index.js';
import type { ManagedModel, ModelLoader } from '../src/model/host.js';
import { WhisperModel } from '../src/native/index.js';

export type ChildMessage = { type: 'listening'; url: string } | { type: 'failed'; message: string } | { type: 'settled'; gc: boolean; memory: NodeJS.MemoryUsage };
export type ParentMessage = { type: 'settle' };

const withoutFallback: ModelLoader = async (path, options) => {
  const model = await WhisperModel.load(path, options);
  const managed: ManagedModel = {
    transcribe: (pcm, transcribeOptions, control) => model.transcribe(pcm, { ...transcribeOptions, temperatureIncrement: 0 }, control),
    trim: () => model.trim(),
    recreate: (newPath) => model.recreate(newPath),
    memory: () => model.memory(),
    dispose: () => model.dispose(),
    get queued() {
      return model.queued;
    },
  };
  return managed;
};

const tell = (message: ChildMessage): void => {
  process.send?.(message);
};

process.on('message', (message: ParentMessage) => {
  if (message.type !== 'settle') return;
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.(); // a second pass frees what the first one's finalizers released
  tell({ type: 'settled', gc: collect !== undefined, memory: process.memoryUsage() });
});

try {
  const config = readServerConfig(process.env);
  const server = await startServer(config, {
    handleSignals: true,
    ...(process.argv.includes('--no-fallback') && { loader: withoutFallback }),
  });
  tell({ type: 'listening', url: server.url });
} catch (err) {
  tell({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  process.disconnect?.();
}
