// One recording, from the microphone to a Blob, that leaves nothing live however it ends: stop(),
// a cap on length or bytes, a recorder error, the microphone going away, or the page being hidden.
// Ending always stops every track (MediaRecorder.stop() alone leaves the microphone on) and drops
// the chunks; the Blob handed back is then the only thing left.
import { browserMedia, type MediaDeps } from './media-deps.js';
import { pageMemory, type MemoryManager } from './memory-manager.js';
import { pickMimeType } from './mime-type.js';
import { microphoneError, RecorderError } from './recorder-error.js';
import type { MediaRecorderLike, StreamLike } from './resource-types.js';

export type RecordingState = 'idle' | 'starting' | 'recording' | 'stopping' | 'done';
/** Why a recording ended with a Blob. */
export type StopReason = 'stop' | 'max-duration' | 'max-bytes' | 'ended-elsewhere';

export interface SafeMediaRecorderOptions {
  memory?: MemoryManager;
  media?: MediaDeps;
  /** Recording stops by itself after this long (default 29 min, under the server's MAX_AUDIO_S of 30 min). */
  maxDurationMs?: number;
  /** ... or once this many bytes are recorded (default 24 MiB, under the server's MAX_UPLOAD_MB of 25). */
  maxBytes?: number;
  /** How often the recorder hands over a chunk; the byte cap is checked per chunk. */
  timesliceMs?: number;
  audioBitsPerSecond?: number;
  /** How long to wait for the recorder's `stop` event before giving up on it. */
  stopTimeoutMs?: number;
}

export const DEFAULT_MAX_DURATION_MS = 29 * 60_000;
export const DEFAULT_MAX_BYTES = 24 * 1024 * 1024;

const ignore = (): void => undefined;

export class SafeMediaRecorder {
  /** Settles when the recording ends for any reason: the Blob, or the error that ended it. */
  readonly ended: Promise<Blob>;
  readonly #memory: MemoryManager;
  readonly #media: MediaDeps;
  readonly #options: SafeMediaRecorderOptions;
  #resolve!: (blob: Blob) => void;
  #reject!: (err: RecorderError) => void;
  #state: RecordingState = 'idle';
  #stream: StreamLike | null = null;
  #recorder: MediaRecorderLike | null = null;
  #chunks: Blob[] = [];
  #bytes = 0;
  #mimeType = '';
  #startedAt = 0;
  #endedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unhook: (() => void) | null = null;
  #stopReason: StopReason | null = null;

  constructor(options: SafeMediaRecorderOptions = {}) {
    this.#options = options;
    this.#memory = options.memory ?? pageMemory();
    this.#media = options.media ?? browserMedia();
    this.ended = new Promise<Blob>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.ended.catch(ignore); // whoever awaits it sees the error; nobody awaiting is not an error
  }

  get state(): RecordingState {
    return this.#state;
  }

  /** Bytes recorded so far (kept after the chunks are dropped). */
  get bytes(): number {
    return this.#bytes;
  }

  get mimeType(): string {
    return this.#mimeType;
  }

  get durationMs(): number {
    if (this.#startedAt === 0) return 0;
    return (this.#endedAt || Date.now()) - this.#startedAt;
  }

  /** The microphone's stream while recording (for a level meter), else null. */
  get stream(): StreamLike | null {
    return this.#stream;
  }

  get stopReason(): StopReason | null {
    return this.#stopReason;
  }

  /** Opens the microphone and starts recording. Rejects with a RecorderError, leaving nothing live. */
  async start(constraints: object = { audio: true }): Promise<void> {
    if (this.#state !== 'idle') throw new RecorderError('ALREADY_STARTED', 'This recorder has already been started');
    this.#state = 'starting';
    this.#unhook = this.#memory.addReleaseHook(() => this.abort(new RecorderError('ABORTED', 'Recording stopped: the page was hidden.')));
    let stream: StreamLike;
    try {
      stream = await this.#media.getUserMedia(constraints);
    } catch (err) {
      throw this.#fail(microphoneError(err));
    }
    if (this.#state !== 'starting') {
      // aborted while the permission prompt was up: the stream arrived for nobody
      for (const track of stream.getTracks()) track.stop();
      await this.ended;
      return; // unreachable: ended has rejected
    }
    this.#stream = this.#memory.registerMediaStream(stream);
    const { audioBitsPerSecond, timesliceMs = 1000 } = this.#options;
    const mimeType = pickMimeType((type) => this.#media.isTypeSupported(type));
    try {
      const recorder = this.#media.createRecorder(stream, { ...(mimeType && { mimeType }), ...(audioBitsPerSecond && { audioBitsPerSecond }) });
      this.#recorder = recorder;
      recorder.ondataavailable = (event) => this.#onData(event.data);
      recorder.onerror = (event) => {
        const detail = event.error instanceof Error ? event.error.message : 'unknown error';
        this.#fail(new RecorderError('RECORDER_FAILED', `The recorder failed: ${detail}`, { cause: event.error }));
      };
      recorder.onstop = () => this.#onStop();
      recorder.start(timesliceMs);
      this.#memory.registerMediaRecorder(recorder);
      this.#mimeType = recorder.mimeType || mimeType;
    } catch (err) {
      throw this.#fail(new RecorderError('RECORDER_FAILED', `The recorder could not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
    this.#state = 'recording';
    this.#startedAt = Date.now();
    this.#timer = setTimeout(() => this.#finish('max-duration'), this.#options.maxDurationMs ?? DEFAULT_MAX_DURATION_MS);
  }

  /** Ends the recording and resolves its Blob; every call returns the same promise. */
  stop(): Promise<Blob> {
    if (this.#state === 'recording') this.#finish('stop');
    else if (this.#state === 'starting') this.abort(new RecorderError('ABORTED', 'Recording was stopped before it started.'));
    else if (this.#state === 'idle') return Promise.reject(new RecorderError('NOT_RECORDING', 'Nothing is being recorded'));
    return this.ended;
  }

  /** Ends the recording without a Blob: tracks stopped, chunks dropped, `ended` rejected. Idempotent. */
  abort(reason: RecorderError = new RecorderError('ABORTED', 'Recording was cancelled.')): void {
    this.#fail(reason);
  }

  #onData(data: Blob): void {
    if (this.#state === 'done' || data.size === 0) return;
    this.#chunks.push(data);
    this.#bytes += data.size;
    if (this.#state === 'recording' && this.#bytes >= (this.#options.maxBytes ?? DEFAULT_MAX_BYTES)) this.#finish('max-bytes');
  }

  #finish(reason: StopReason): void {
    if (this.#state !== 'recording') return;
    this.#state = 'stopping';
    this.#stopReason = reason;
    this.#endedAt = Date.now();
    clearTimeout(this.#timer);
    // The recorder flushes its last chunk, then fires `stop`; if it never does, give up on it.
    this.#timer = setTimeout(
      () => this.#fail(new RecorderError('RECORDER_FAILED', 'The recorder did not finish')),
      this.#options.stopTimeoutMs ?? 5000,
    );
    try {
      this.#recorder?.stop();
    } catch (err) {
      this.#fail(new RecorderError('RECORDER_FAILED', `The recorder could not stop: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
  }

  #onStop(): void {
    if (this.#state === 'done') return;
    if (this.#state === 'recording') {
      // The recorder stopped without being asked: its tracks ended (device unplugged, permission revoked).
      this.#stopReason = 'ended-elsewhere';
      this.#endedAt = Date.now();
    }
    const blob = new Blob(this.#chunks, { type: this.#mimeType });
    this.#release();
    this.#resolve(blob);
  }

  /** Releases everything and rejects `ended`; returns the error for `throw`. */
  #fail(err: RecorderError): RecorderError {
    if (this.#state === 'done') return err;
    this.#endedAt ||= Date.now();
    this.#release();
    this.#reject(err);
    return err;
  }

  #release(): void {
    this.#state = 'done';
    clearTimeout(this.#timer);
    this.#unhook?.();
    this.#unhook = null;
    const recorder = this.#recorder;
    if (recorder) {
      recorder.ondataavailable = null;
      recorder.onerror = null;
      recorder.onstop = null;
      try {
        this.#memory.stopMediaRecorder(recorder);
      } catch {
        // a recorder in error may refuse to stop; its tracks are stopped below
      }
    }
    if (this.#stream) this.#memory.stopMediaStream(this.#stream);
    this.#recorder = null;
    this.#stream = null;
    this.#chunks = [];
  }
}
