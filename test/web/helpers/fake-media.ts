// Small stand-ins for the browser's media objects, behaving as the browser's do where the guards
// depend on it: track.stop() ends a track without an `ended` event, MediaRecorder.stop() flushes a
// last chunk and fires `stop` asynchronously and throws when already inactive, an AudioContext stays
// 'running' until closed.
import type { MediaDeps, RecorderOptions } from '../../../web/src/media-deps.js';
import type { AudioContextLike, EventTargetLike, MediaRecorderLike, StorageLike, StreamLike, TrackLike } from '../../../web/src/resource-types.js';

export class FakeTrack implements TrackLike {
  readyState: 'live' | 'ended' = 'live';
  stops = 0;
  stop(): void {
    this.stops++;
    this.readyState = 'ended';
  }
}

export class FakeStream implements StreamLike {
  readonly tracks: FakeTrack[];
  constructor(trackCount = 1) {
    this.tracks = Array.from({ length: trackCount }, () => new FakeTrack());
  }
  getTracks(): FakeTrack[] {
    return [...this.tracks];
  }
  get live(): boolean {
    return this.tracks.some((t) => t.readyState === 'live');
  }
}

export class FakeAudioContext implements AudioContextLike {
  state: 'running' | 'suspended' | 'closed' = 'running';
  closes = 0;
  async close(): Promise<void> {
    this.closes++;
    if (this.state === 'closed') throw new DOMException('Cannot close a closed AudioContext.', 'InvalidStateError');
    this.state = 'closed';
  }
}

export class FakeRecorder implements MediaRecorderLike {
  state: 'inactive' | 'recording' = 'inactive';
  ondataavailable: ((event: { data: Blob }) => void) | null = null;
  onstop: (() => void) | null = null;
  onerror: ((event: { error?: unknown }) => void) | null = null;
  timeslice: number | undefined;
  /** Whether stop() fires `stop` (a broken recorder may never). */
  firesStop = true;
  /** Bytes of the chunk flushed by stop(). */
  finalChunkBytes = 10;

  constructor(
    readonly stream: StreamLike,
    readonly options: RecorderOptions,
  ) {}

  get mimeType(): string {
    return this.options.mimeType ?? 'audio/webm;codecs=opus';
  }

  start(timeslice?: number): void {
    if (this.state !== 'inactive') throw new DOMException('already recording', 'InvalidStateError');
    this.state = 'recording';
    this.timeslice = timeslice;
  }

  stop(): void {
    if (this.state === 'inactive') throw new DOMException('The MediaRecorder is inactive', 'InvalidStateError');
    this.state = 'inactive';
    const final = this.finalChunkBytes;
    queueMicrotask(() => {
      if (final > 0) this.ondataavailable?.({ data: new Blob([new Uint8Array(final)]) });
      if (this.firesStop) this.onstop?.();
    });
  }

  /** A timeslice's chunk. */
  emit(bytes: number): void {
    this.ondataavailable?.({ data: new Blob([new Uint8Array(bytes).fill(1)]) });
  }

  /** The recorder's `error` event, then (like Chromium) it stops. */
  fail(error: Error): void {
    this.onerror?.({ error });
    if (this.state !== 'inactive') this.stop();
  }

  /** Its tracks ended elsewhere (device unplugged): the recorder stops by itself. */
  endByItself(): void {
    for (const track of this.stream.getTracks()) track.stop();
    this.stop();
  }
}

export class FakeMedia implements MediaDeps {
  readonly streams: FakeStream[] = [];
  readonly recorders: FakeRecorder[] = [];
  supported: string[] = ['audio/webm;codecs=opus'];
  /** What getUserMedia does: resolve a stream (default), or reject with this. */
  failWith: unknown = null;
  /** When set, getUserMedia waits for this (a permission prompt that is still up). */
  gate: Promise<void> | null = null;
  createFails: unknown = null;

  async getUserMedia(_constraints: object): Promise<FakeStream> {
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    const stream = new FakeStream();
    this.streams.push(stream);
    return stream;
  }

  createRecorder(stream: StreamLike, options: RecorderOptions): FakeRecorder {
    if (this.createFails) throw this.createFails;
    const recorder = new FakeRecorder(stream, options);
    this.recorders.push(recorder);
    return recorder;
  }

  isTypeSupported(type: string): boolean {
    return this.supported.includes(type);
  }

  get liveTracks(): number {
    return this.streams.flatMap((s) => s.tracks).filter((t) => t.readyState === 'live').length;
  }
}

export class FakeWindow implements EventTargetLike {
  readonly listeners = new Map<string, Set<(event: { persisted?: boolean }) => void>>();
  addEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)?.add(listener);
  }
  removeEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void {
    this.listeners.get(type)?.delete(listener);
  }
  dispatch(type: string, event: { persisted?: boolean } = {}): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

export class FakeStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
}
