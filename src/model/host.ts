// Owns the whisper model for the service: loads it on first use (concurrent first requests share
// one load), runs transcriptions, applies the per-transcription trim policy, reloads it on demand,
// and unloads it after a stretch without work. The memory manager pulls its levers.
import type { LoadOptions, ModelMemory, RecreateReport, TranscribeControl, TranscribeOptions, Transcription, TrimReport } from '../native/index.js';
import { WhisperModel } from '../native/index.js';
import { Talk2meError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';

export const TRIM_POLICIES = ['never', 'idle', 'always'] as const;
/**
 * When to free whisper states after a transcription: never (keep them for the next request; the
 * ladder trims under pressure), idle (when nothing is running or queued), always (after each one).
 */
export type TrimPolicy = (typeof TRIM_POLICIES)[number];

/** What the host needs of a model: WhisperModel, or a stand-in in policy tests. */
export interface ManagedModel {
  transcribe(pcm: Float32Array, options?: TranscribeOptions, control?: TranscribeControl): Promise<Transcription>;
  trim(): Promise<TrimReport>;
  recreate(path?: string): Promise<RecreateReport>;
  memory(): Promise<ModelMemory>;
  dispose(): Promise<void>;
  readonly queued: number;
}

export type ModelLoader = (path: string, options: LoadOptions) => Promise<ManagedModel>;

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'reloading' | 'unloading' | 'disposed';

export interface ModelHostOptions {
  path: string;
  loadOptions?: LoadOptions;
  trimPolicy?: TrimPolicy;
  /** Unload after this long without work; 0 never. */
  idleUnloadMs?: number;
  /**
   * Before a reload, report 'reloading' this long while the current model keeps serving, so a load
   * balancer watching /ready has moved new work elsewhere when the swap happens; 0 none.
   */
  reloadDrainMs?: number;
  logger?: Logger;
  now?: () => number;
  loader?: ModelLoader;
}

export interface ReloadRecord {
  at: number;
  ok: boolean;
  durationMs: number;
  reason: string;
  error?: string;
}

export interface ModelHostStats {
  state: ModelState;
  path: string;
  inflight: number;
  queued: number;
  loads: number;
  unloads: number;
  reloadCount: number;
  reloadFailures: number;
  lastReload: ReloadRecord | null;
  lastActivityAt: number | null;
  lastLoadAt: number | null;
  idleUnloadS: number;
  trimPolicy: TrimPolicy;
}

export class ModelDisposedError extends Talk2meError<'MODEL_DISPOSED'> {
  constructor() {
    super('MODEL_DISPOSED', 'The model host has been shut down');
  }
}

export class ModelHost {
  readonly #options: Required<Omit<ModelHostOptions, 'loadOptions'>> & { loadOptions: LoadOptions };
  #path: string;
  #model: ManagedModel | null = null;
  #loading: Promise<ManagedModel> | null = null;
  #unloading: Promise<void> | null = null;
  #reloading = false;
  #disposed = false;
  #inflight = 0;
  #loads = 0;
  #unloads = 0;
  #reloadCount = 0;
  #reloadFailures = 0;
  #lastReload: ReloadRecord | null = null;
  #lastActivityAt: number | null = null;
  #lastLoadAt: number | null = null;

  constructor(options: ModelHostOptions) {
    this.#options = {
      loadOptions: options.loadOptions ?? {},
      trimPolicy: options.trimPolicy ?? 'never',
      idleUnloadMs: options.idleUnloadMs ?? 0,
      reloadDrainMs: options.reloadDrainMs ?? 0,
      logger: options.logger ?? silentLogger,
      now: options.now ?? Date.now,
      loader: options.loader ?? ((path, loadOptions) => WhisperModel.load(path, loadOptions)),
      path: options.path,
    };
    this.#path = options.path;
  }

  get state(): ModelState {
    if (this.#disposed) return 'disposed';
    if (this.#unloading) return 'unloading';
    if (this.#loading) return 'loading';
    if (!this.#model) return 'unloaded';
    return this.#reloading ? 'reloading' : 'ready';
  }

  get path(): string {
    return this.#path;
  }

  get inflight(): number {
    return this.#inflight;
  }

  stats(): ModelHostStats {
    return {
      state: this.state,
      path: this.#path,
      inflight: this.#inflight,
      queued: this.#model?.queued ?? 0,
      loads: this.#loads,
      unloads: this.#unloads,
      reloadCount: this.#reloadCount,
      reloadFailures: this.#reloadFailures,
      lastReload: this.#lastReload,
      lastActivityAt: this.#lastActivityAt,
      lastLoadAt: this.#lastLoadAt,
      idleUnloadS: this.#options.idleUnloadMs / 1000,
      trimPolicy: this.#options.trimPolicy,
    };
  }

  /** The loaded model, loading it first when needed. Concurrent callers share one load. */
  async acquire(): Promise<ManagedModel> {
    for (;;) {
      if (this.#disposed) throw new ModelDisposedError();
      if (this.#unloading) {
        await this.#unloading;
        continue;
      }
      if (this.#model) return this.#model;
      this.#loading ??= this.#load();
      return this.#loading;
    }
  }

  async #load(): Promise<ManagedModel> {
    const started = this.#options.now();
    try {
      const model = await this.#options.loader(this.#path, this.#options.loadOptions);
      if (this.#disposed) {
        await model.dispose();
        throw new ModelDisposedError();
      }
      this.#model = model;
      this.#loads++;
      this.#lastLoadAt = this.#lastActivityAt = this.#options.now();
      this.#options.logger.info({ path: this.#path, durationMs: this.#options.now() - started }, 'Model loaded');
      return model;
    } finally {
      this.#loading = null;
    }
  }

  async transcribe(pcm: Float32Array, options?: TranscribeOptions, control?: TranscribeControl): Promise<Transcription> {
    this.#inflight++;
    try {
      const model = await this.acquire();
      return await model.transcribe(pcm, options, control);
    } finally {
      this.#inflight--;
      this.#lastActivityAt = this.#options.now();
      await this.#applyTrimPolicy();
    }
  }

  async #applyTrimPolicy(): Promise<void> {
    const policy = this.#options.trimPolicy;
    const idle = this.#inflight === 0 && (this.#model?.queued ?? 0) === 0;
    if (policy === 'never' || (policy === 'idle' && !idle)) return;
    try {
      await this.trim();
    } catch (err) {
      this.#options.logger.warn({ err }, 'Trim after transcription failed');
    }
  }

  /** Frees idle whisper states; null when no model is loaded. */
  async trim(): Promise<TrimReport | null> {
    const model = this.#model;
    return model ? model.trim() : null;
  }

  async memory(): Promise<ModelMemory | null> {
    const model = this.#model;
    if (!model) return null;
    try {
      return await model.memory();
    } catch (err) {
      if ((err as { code?: string }).code === 'MODEL_DISPOSED') return null; // unloaded meanwhile
      throw err;
    }
  }

  /**
   * Loads a fresh context while the current one serves, then swaps; with a reload drain the state
   * is 'reloading' (so /ready is 503) for that long first. A failed load keeps the current model
   * and is recorded and rethrown. Without a loaded model there is nothing to do.
   */
  async recreate(reason: string, path?: string): Promise<RecreateReport | null> {
    const model = this.#model;
    if (!model || this.#reloading) return null;
    this.#reloading = true;
    const drainMs = this.#options.reloadDrainMs;
    if (drainMs > 0) {
      this.#options.logger.info({ reason, drainS: drainMs / 1000 }, 'Model reload: not ready while load balancers move new work elsewhere');
      await new Promise((resolve) => setTimeout(resolve, drainMs));
      if (this.#disposed) {
        this.#reloading = false;
        throw new ModelDisposedError(); // shut down meanwhile: nothing left to reload
      }
    }
    const started = this.#options.now();
    try {
      const report = await model.recreate(path);
      this.#path = report.path;
      this.#reloadCount++;
      this.#lastReload = { at: this.#options.now(), ok: true, durationMs: this.#options.now() - started, reason };
      this.#options.logger.info({ ...this.#lastReload, path: report.path, loadMs: report.loadMs }, 'Model reloaded');
      return report;
    } catch (err) {
      this.#reloadFailures++;
      const message = err instanceof Error ? err.message : String(err);
      this.#lastReload = { at: this.#options.now(), ok: false, durationMs: this.#options.now() - started, reason, error: message };
      this.#options.logger.error({ ...this.#lastReload }, 'Model reload failed; the current model keeps serving');
      throw err;
    } finally {
      this.#reloading = false;
    }
  }

  /** Unloads the model when it has had no work for the idle time. Returns whether it did. */
  async unloadIfIdle(): Promise<boolean> {
    const idleMs = this.#options.idleUnloadMs;
    if (idleMs <= 0 || !this.#model || this.#reloading || this.#loading || this.#unloading) return false;
    if (this.#inflight > 0 || this.#model.queued > 0) return false;
    const idleFor = this.#options.now() - (this.#lastActivityAt ?? 0);
    if (idleFor < idleMs) return false;
    const model = this.#model;
    this.#model = null;
    this.#unloading = (async () => {
      try {
        await model.dispose();
        this.#unloads++;
        this.#options.logger.info({ path: this.#path, idleS: Math.round(idleFor / 1000) }, 'Model unloaded after idling');
      } finally {
        this.#unloading = null;
      }
    })();
    await this.#unloading;
    return true;
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    await this.#loading?.catch(() => undefined);
    await this.#unloading;
    const model = this.#model;
    this.#model = null;
    await model?.dispose();
  }
}
