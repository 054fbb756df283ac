// A whisper.cpp model running in this process: one set of weights, a pool of states serving
// concurrent transcriptions, and the memory levers (trim, recreate, memory) the memory manager pulls.
import type { RawMemoryReport, RawModel, RawRecreateReport, RawSegment, RawTimings, RawTranscribeHooks } from './binding.js';
import { loadBinding } from './binding.js';
import { toWhisperError, WhisperError, withJsStack } from './errors.js';
import { checkListener, checkLoadOptions, checkPath, checkPcm, checkTranscribeOptions, type LoadOptions, type TranscribeOptions } from './options.js';
import { Slots } from './slots.js';

export interface Word {
  /** The word without the space before it. */
  word: string;
  /** Seconds from the start of the clip, inside its segment. */
  start: number;
  end: number;
}

export interface Segment {
  /** Seconds from the start of the clip. */
  start: number;
  end: number;
  text: string;
  /** whisper.cpp's probability that the window holds no speech. */
  noSpeechProb: number;
  /** The segment's text tokens (ids in the model's vocabulary); special tokens left out. */
  tokens: number[];
  /** Mean log probability of `tokens`; absent when the segment has none. */
  avgLogprob?: number;
  /** Present when wordTimestamps was asked for. */
  words?: Word[];
}

export interface Transcription {
  text: string;
  segments: Segment[];
  /** Every segment's words in order; present when wordTimestamps was asked for. */
  words?: Word[];
  language: string;
  durationS: number;
  timings: RawTimings;
}

export interface TrimReport {
  statesFreed: number;
  /** whisper.cpp's own accounting of the freed states' buffers. */
  stateBytesFreed: number;
  rssBefore: number;
  rssAfter: number;
  /** RSS the process gave back to the system, as measured (never negative). */
  rssReleasedBytes: number;
  heapTrimmed: boolean;
  /** Free GPU memory before and after (CUDA builds running on a GPU; null otherwise). */
  gpuFreeBefore: number | null;
  gpuFreeAfter: number | null;
}

export type RecreateReport = RawRecreateReport;
export type ModelMemory = RawMemoryReport;
export type ModelInfo = ReturnType<RawModel['info']>;

export interface TranscribeControl {
  /** Aborting cancels the transcription (queued or running); it rejects with code ABORTED. */
  signal?: AbortSignal;
  /** Each segment as soon as whisper has decoded it, in order, before the Promise settles. */
  onSegment?: (segment: Segment) => void;
  /** Percent of the audio done, rising, ending at 100 when the transcription succeeds. */
  onProgress?: (percent: number) => void;
}

function toSegment(s: RawSegment, withWords: boolean): Segment {
  const segment: Segment = { start: s.startMs / 1000, end: s.endMs / 1000, text: s.text, noSpeechProb: s.noSpeechProb, tokens: s.tokens };
  if (s.avgLogprob !== undefined) segment.avgLogprob = s.avgLogprob;
  if (withWords) segment.words = s.words.map((w) => ({ word: w.text, start: w.startMs / 1000, end: w.endMs / 1000 }));
  return segment;
}

/** A listener's error must not end the transcription nor vanish: it is reported like an unhandled one. */
function guarded<A>(listener: ((arg: A) => void) | undefined): ((arg: A) => void) | undefined {
  if (!listener) return undefined;
  return (arg) => {
    try {
      listener(arg);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  };
}

let nextJobId = 1;

/** Runs a load of `path`; a WhisperError it throws carries the path in modelPath, not in its message. */
async function withModelPath<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WhisperError) err.modelPath = path;
    throw err;
  }
}

export class WhisperModel implements AsyncDisposable {
  readonly #raw: RawModel;
  readonly #slots: Slots;
  #disposing: Promise<void> | undefined;

  private constructor(raw: RawModel, maxStates: number) {
    this.#raw = raw;
    this.#slots = new Slots(maxStates);
  }

  /** Checks the file, loads the weights, and resolves when the model can transcribe. */
  static async load(path: string, options: LoadOptions = {}): Promise<WhisperModel> {
    const checkedPath = checkPath('path', path);
    const checked = checkLoadOptions(options);
    const raw = await withModelPath(checkedPath, () => withJsStack(() => loadBinding().Model.load(checkedPath, checked)));
    return new WhisperModel(raw, checked.maxStates);
  }

  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  /** What is loaded: path, dimensions, load time. */
  get info(): ModelInfo {
    try {
      return this.#raw.info();
    } catch (err) {
      throw toWhisperError(err);
    }
  }

  /** Transcriptions waiting for a free whisper state. */
  get queued(): number {
    return this.#slots.waiting;
  }

  /** Transcribes 16 kHz mono float samples. */
  async transcribe(pcm: Float32Array, options: TranscribeOptions = {}, control: TranscribeControl = {}): Promise<Transcription> {
    const samples = checkPcm(pcm);
    const checked = checkTranscribeOptions(options);
    this.#throwIfDisposed();
    const { signal } = control;
    const withWords = checked.wordTimestamps === true;
    const onSegment = guarded(checkListener<(s: Segment) => void>('onSegment', control.onSegment));
    const onProgress = guarded(checkListener<(p: number) => void>('onProgress', control.onProgress));
    const hooks: RawTranscribeHooks = {
      ...(onSegment && { onSegment: (s: RawSegment) => onSegment(toSegment(s, withWords)) }),
      ...(onProgress && { onProgress }),
    };
    const release = await this.#slots.acquire(signal);
    const jobId = nextJobId++;
    const onAbort = (): void => {
      this.#raw.cancel(jobId);
    };
    try {
      signal?.addEventListener('abort', onAbort, { once: true });
      const raw = await withJsStack(() => this.#raw.transcribe(samples, checked, jobId, hooks));
      const segments = raw.segments.map((s) => toSegment(s, withWords));
      return {
        text: segments.map((s) => s.text).join('').trim(),
        segments,
        ...(withWords && { words: segments.flatMap((s) => s.words ?? []) }),
        language: raw.language,
        durationS: raw.durationMs / 1000,
        timings: raw.timings,
      };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      release();
    }
  }

  /** Frees idle whisper states and hands free heap back to the system. */
  async trim(): Promise<TrimReport> {
    this.#throwIfDisposed();
    const r = await withJsStack(() => this.#raw.trim());
    return { ...r, rssReleasedBytes: Math.max(0, r.rssBefore - r.rssAfter) };
  }

  /**
   * Loads the model again (or `path`) while the current one keeps serving, then swaps. In-flight
   * work finishes on the old weights, which are freed when it ends. If the load fails, the current
   * model stays and the error is thrown.
   */
  async recreate(path?: string): Promise<RecreateReport> {
    const checkedPath = path === undefined ? undefined : checkPath('path', path);
    this.#throwIfDisposed();
    return withModelPath(checkedPath ?? this.#raw.info().path, () => withJsStack(() => this.#raw.recreate(checkedPath)));
  }

  /** Weights, per-state buffers, state counts, RSS and (on a GPU build with a device) GPU memory. */
  async memory(): Promise<ModelMemory> {
    this.#throwIfDisposed();
    return withJsStack(() => this.#raw.memory());
  }

  /** Cancels running work, waits for it to stop, frees everything. Safe to call more than once. */
  dispose(): Promise<void> {
    this.#disposing ??= withJsStack(() => this.#raw.dispose());
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #throwIfDisposed(): void {
    if (this.#disposing) throw new WhisperError('MODEL_DISPOSED', 'The model has been disposed');
  }
}
