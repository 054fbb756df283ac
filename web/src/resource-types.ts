// The parts of the browser's objects that the guards touch, written out structurally so the guards
// compile without the DOM library and their unit tests run in Node with small fakes. Real
// AudioContexts, MediaStreams and MediaRecorders satisfy these interfaces as they are.

export interface TrackLike {
  readonly readyState: string;
  stop(): void;
}

export interface StreamLike {
  getTracks(): TrackLike[];
}

/** An AudioContext, or an OfflineAudioContext (which has no close(): it closes when rendering ends). */
export interface AudioContextLike {
  readonly state: string;
  close?(): Promise<void>;
}

export interface RecorderLike {
  readonly state: string;
  stop(): void;
}

/** What SafeMediaRecorder needs of a MediaRecorder. */
export interface MediaRecorderLike extends RecorderLike {
  readonly mimeType: string;
  ondataavailable: ((event: { data: Blob }) => void) | null;
  onstop: (() => void) | null;
  onerror: ((event: { error?: unknown }) => void) | null;
  start(timesliceMs?: number): void;
}

/** `pagehide` and friends, on `window`. */
export interface EventTargetLike {
  addEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
  removeEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem?(key: string, value: string): void;
}
