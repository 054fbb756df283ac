// One per page: every object that holds audio memory outside the JS heap is registered here, so the
// page can say what it holds and let it all go when it is hidden. An AudioContext that is not closed
// is never garbage-collected, MediaRecorder.stop() leaves the microphone on, and an object URL keeps
// its Blob alive until revoked: none of them is freed by dropping a reference.
//
// Registering is a Set insertion (no listeners, no allocation), so it can sit on any hot path. Whether
// a resource is still live is read from the object itself (state, readyState) when asked; a sweep
// every 30 s forgets those that were closed behind the manager's back.
import type { AudioContextLike, EventTargetLike, RecorderLike, StorageLike, StreamLike } from './resource-types.js';

export type ResourceKind = 'audioContexts' | 'mediaStreams' | 'mediaRecorders' | 'objectURLs';

/** live: still holding memory; closed: finished, forgotten at the next sweep; registered: over the page's life. */
export interface KindStats {
  live: number;
  closed: number;
  registered: number;
}

export type MemoryStats = Record<ResourceKind, KindStats> & { sweeps: number; releases: number };

/** What a release (pagehide) let go of: what was live when it began, then how. */
export interface ReleaseReport {
  reason: string;
  audioContexts: number;
  tracks: number;
  mediaRecorders: number;
  objectURLs: number;
  /** Release hooks run (owners letting go of their own resources). */
  hooks: number;
  /** Resources the hooks left live, stopped, closed or revoked by the manager itself. */
  forced: number;
}

export interface MemoryManagerOptions {
  /** Where `pagehide` is listened for (window); null: nowhere. */
  target?: EventTargetLike | null;
  /** Where DEBUG_MEMORY is read (localStorage). */
  storage?: StorageLike | null;
  /**
   * Where, with DEBUG_MEMORY, the last release report is kept as `talk2me.lastRelease`
   * (sessionStorage): console output from a page that is unloading is lost.
   */
  journal?: StorageLike | null;
  log?: (message: string, details?: object) => void;
  sweepIntervalMs?: number;
  createObjectURL?: (blob: Blob) => string;
  revokeObjectURL?: (url: string) => void;
}

export const SWEEP_INTERVAL_MS = 30_000;
export const LAST_RELEASE_KEY = 'talk2me.lastRelease';

const isEnded = (stream: StreamLike): boolean => stream.getTracks().every((t) => t.readyState === 'ended');
const ignore = (): void => undefined;

function countKind<T>(items: Set<T>, isClosed: (item: T) => boolean, registered: number): KindStats {
  let closed = 0;
  for (const item of items) if (isClosed(item)) closed++;
  return { live: items.size - closed, closed, registered };
}

export class MemoryManager {
  readonly #contexts = new Set<AudioContextLike>();
  readonly #streams = new Set<StreamLike>();
  readonly #recorders = new Set<RecorderLike>();
  readonly #urls = new Set<string>();
  readonly #hooks = new Set<() => void>();
  readonly #registered: Record<ResourceKind, number> = { audioContexts: 0, mediaStreams: 0, mediaRecorders: 0, objectURLs: 0 };
  readonly #target: EventTargetLike | null;
  readonly #storage: StorageLike | null;
  readonly #journal: StorageLike | null;
  readonly #log: (message: string, details?: object) => void;
  readonly #createURL: (blob: Blob) => string;
  readonly #revokeURL: (url: string) => void;
  readonly #timer: ReturnType<typeof setInterval>;
  #sweeps = 0;
  #releases = 0;
  #debug = false;

  constructor(options: MemoryManagerOptions = {}) {
    this.#target = options.target ?? null;
    this.#storage = options.storage ?? null;
    this.#journal = options.journal ?? null;
    this.#log = options.log ?? ((message, details) => console.info(`[talk2me memory] ${message}${details ? ` ${JSON.stringify(details)}` : ''}`));
    this.#createURL = options.createObjectURL ?? ((blob) => URL.createObjectURL(blob));
    this.#revokeURL = options.revokeObjectURL ?? ((url) => URL.revokeObjectURL(url));
    this.#readDebugFlag();
    this.#timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
    this.#target?.addEventListener('pagehide', this.#onPageHide);
  }

  /** Whether `localStorage.DEBUG_MEMORY` is 'true' (read at start and at every sweep). */
  get debug(): boolean {
    return this.#debug;
  }

  registerAudioContext<T extends AudioContextLike>(context: T): T {
    this.#contexts.add(context);
    this.#registered.audioContexts++;
    if (this.#debug) this.#log('AudioContext registered', { live: this.#contexts.size });
    return context;
  }

  registerMediaStream<T extends StreamLike>(stream: T): T {
    this.#streams.add(stream);
    this.#registered.mediaStreams++;
    if (this.#debug) this.#log('MediaStream registered', { tracks: stream.getTracks().length });
    return stream;
  }

  /** Register a recorder once it has started: a recorder that is 'inactive' counts as finished. */
  registerMediaRecorder<T extends RecorderLike>(recorder: T): T {
    this.#recorders.add(recorder);
    this.#registered.mediaRecorders++;
    if (this.#debug) this.#log('MediaRecorder registered');
    return recorder;
  }

  registerObjectURL(url: string): string {
    this.#urls.add(url);
    this.#registered.objectURLs++;
    if (this.#debug) this.#log('Object URL registered', { live: this.#urls.size });
    return url;
  }

  /** URL.createObjectURL, tracked. */
  createObjectURL(blob: Blob): string {
    return this.registerObjectURL(this.#createURL(blob));
  }

  /** Revokes the URL (tracked or not) and forgets it. */
  revokeObjectURL(url: string): void {
    this.#urls.delete(url);
    this.#revokeURL(url);
  }

  /** Closes the context unless it is closed already, and forgets it. Never rejects. */
  async closeAudioContext(context: AudioContextLike): Promise<void> {
    this.#contexts.delete(context);
    if (context.state !== 'closed' && context.close) {
      await context.close().catch((err: unknown) => this.#log('AudioContext.close failed', { err: String(err) }));
    }
  }

  /** Stops every track of the stream (MediaRecorder.stop() does not) and forgets it. */
  stopMediaStream(stream: StreamLike): void {
    this.#streams.delete(stream);
    for (const track of stream.getTracks()) track.stop();
  }

  /** Stops the recorder if it is still recording and forgets it. */
  stopMediaRecorder(recorder: RecorderLike): void {
    this.#recorders.delete(recorder);
    if (recorder.state !== 'inactive') recorder.stop();
  }

  /**
   * `hook` runs first when the page is released (before the resources are stopped), so an owner can
   * drop what it holds besides them (a recorder's chunks, a list's clips). Returns the unsubscriber.
   */
  addReleaseHook(hook: () => void): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  getStats(): MemoryStats {
    const r = this.#registered;
    return {
      audioContexts: countKind(this.#contexts, (c) => c.state === 'closed', r.audioContexts),
      mediaStreams: countKind(this.#streams, isEnded, r.mediaStreams),
      mediaRecorders: countKind(this.#recorders, (rec) => rec.state === 'inactive', r.mediaRecorders),
      objectURLs: countKind(this.#urls, () => false, r.objectURLs),
      sweeps: this.#sweeps,
      releases: this.#releases,
    };
  }

  /** Forgets closed contexts, ended streams and inactive recorders; returns how many. */
  sweep(): number {
    let forgotten = 0;
    for (const context of this.#contexts) if (context.state === 'closed' && this.#contexts.delete(context)) forgotten++;
    for (const stream of this.#streams) if (isEnded(stream) && this.#streams.delete(stream)) forgotten++;
    for (const recorder of this.#recorders) if (recorder.state === 'inactive' && this.#recorders.delete(recorder)) forgotten++;
    this.#sweeps++;
    this.#readDebugFlag();
    if (this.#debug) this.#log('Sweep', { forgotten, ...this.#liveCounts() });
    return forgotten;
  }

  /**
   * Lets go of everything: release hooks first (owners drop what they hold, through the manager),
   * then whatever is left is stopped here: recorders, tracks, contexts closed, object URLs revoked.
   * Runs on `pagehide`; the page can go on afterwards (back/forward cache).
   */
  releaseAll(reason = 'release'): ReleaseReport {
    const report: ReleaseReport = { reason, audioContexts: 0, tracks: 0, mediaRecorders: 0, objectURLs: this.#urls.size, hooks: 0, forced: 0 };
    for (const context of this.#contexts) if (context.state !== 'closed' && context.close) report.audioContexts++;
    for (const stream of this.#streams) for (const track of stream.getTracks()) if (track.readyState !== 'ended') report.tracks++;
    for (const recorder of this.#recorders) if (recorder.state !== 'inactive') report.mediaRecorders++;

    for (const hook of [...this.#hooks]) {
      this.#hooks.delete(hook);
      report.hooks++;
      try {
        hook();
      } catch (err) {
        this.#log('Release hook failed', { err: String(err) });
      }
    }
    for (const recorder of this.#recorders) {
      if (recorder.state === 'inactive') continue;
      report.forced++;
      try {
        recorder.stop();
      } catch {
        // already stopping
      }
    }
    for (const stream of this.#streams) {
      for (const track of stream.getTracks()) {
        if (track.readyState === 'ended') continue;
        report.forced++;
        track.stop();
      }
    }
    for (const context of this.#contexts) {
      if (context.state === 'closed' || !context.close) continue;
      report.forced++;
      context.close().catch(ignore);
    }
    for (const url of this.#urls) {
      report.forced++;
      this.#revokeURL(url);
    }
    this.#recorders.clear();
    this.#streams.clear();
    this.#contexts.clear();
    this.#urls.clear();
    this.#releases++;
    if (this.#debug) {
      this.#log(`Released on ${reason}`, report);
      try {
        this.#journal?.setItem?.(LAST_RELEASE_KEY, JSON.stringify({ ...report, at: Date.now() }));
      } catch {
        // storage full or blocked: the console line is all there is
      }
    }
    return report;
  }

  /** Stops the sweep timer and the pagehide listener (tests; a page keeps its manager). */
  dispose(): void {
    clearInterval(this.#timer);
    this.#target?.removeEventListener('pagehide', this.#onPageHide);
  }

  readonly #onPageHide = (): void => {
    this.releaseAll('pagehide');
  };

  #liveCounts(): Record<ResourceKind, number> {
    const s = this.getStats();
    return { audioContexts: s.audioContexts.live, mediaStreams: s.mediaStreams.live, mediaRecorders: s.mediaRecorders.live, objectURLs: s.objectURLs.live };
  }

  #readDebugFlag(): void {
    try {
      this.#debug = this.#storage?.getItem('DEBUG_MEMORY') === 'true';
    } catch {
      this.#debug = false; // storage blocked (privacy settings): no logging
    }
  }
}

let pageManager: MemoryManager | undefined;

/** The page's manager, created on first use with the page's window, localStorage and sessionStorage. */
export function pageMemory(): MemoryManager {
  if (!pageManager) {
    const g = globalThis as unknown as { addEventListener?: unknown; localStorage?: StorageLike; sessionStorage?: StorageLike };
    // Reading either storage throws when the browser blocks it.
    const read = (get: () => StorageLike | undefined): StorageLike | null => {
      try {
        return get() ?? null;
      } catch {
        return null;
      }
    };
    pageManager = new MemoryManager({
      target: typeof g.addEventListener === 'function' ? (g as unknown as EventTargetLike) : null,
      storage: read(() => g.localStorage),
      journal: read(() => g.sessionStorage),
    });
  }
  return pageManager;
}
