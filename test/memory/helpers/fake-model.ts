// A stand-in for WhisperModel whose memory figures a test sets: simulated GPU growth on a machine
// without a GPU, a reload that fails on demand. It counts every lever pulled.
import type { ModelMemory, RecreateReport, Transcription, TrimReport } from '../../../src/native/index.js';
import type { ManagedModel } from '../../../src/model/host.js';

const MB = 1024 * 1024;

export class FakeModel implements ManagedModel {
  gpuUsedMb: number | null = null;
  gpuTotalMb = 16_384;
  statesTotal = 1;
  bytesPerState = 150 * MB;
  trims = 0;
  recreates = 0;
  disposed = false;
  failRecreate: Error | null = null;
  /** What a reload does to GPU use (e.g. drops back to the post-load figure). */
  onRecreate: (() => void) | null = null;
  transcriptions = 0;
  queued = 0;
  memoryCalls = 0;
  failMemory: Error | null = null;

  constructor(readonly path: string) {}

  async transcribe(): Promise<Transcription> {
    this.transcriptions++;
    await new Promise((r) => setTimeout(r, 1));
    return { text: 'ok', segments: [], language: 'en', durationS: 1, timings: { melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: 1 } };
  }

  async trim(): Promise<TrimReport> {
    this.trims++;
    return { statesFreed: 0, stateBytesFreed: 0, rssBefore: 0, rssAfter: 0, rssReleasedBytes: 0, heapTrimmed: true, gpuFreeBefore: null, gpuFreeAfter: null };
  }

  async recreate(path?: string): Promise<RecreateReport> {
    if (this.failRecreate) throw this.failRecreate;
    this.recreates++;
    this.onRecreate?.();
    return { previousPath: this.path, path: path ?? this.path, loadMs: 5, previousDraining: false };
  }

  async memory(): Promise<ModelMemory> {
    this.memoryCalls++;
    if (this.failMemory) throw this.failMemory;
    if (this.disposed) throw Object.assign(new Error('disposed'), { code: 'MODEL_DISPOSED' });
    return {
      path: this.path,
      weightsBytes: 77 * MB,
      bytesPerState: this.bytesPerState,
      states: { total: this.statesTotal, idle: this.statesTotal, busy: 0, max: 2 },
      drainingContexts: 0,
      rssBytes: 300 * MB,
      gpu: this.gpuUsedMb === null ? null : { free: (this.gpuTotalMb - this.gpuUsedMb) * MB, total: this.gpuTotalMb * MB, device: 0, name: 'Simulated GPU' },
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
