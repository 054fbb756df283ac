// The temporary files of one piece of audio work (an upload, its converted WAV, ffmpeg's output),
// removed together when the work ends, whether it returned or threw:
//
//   await using ctx = new AudioProcessingContext(registry, { owner: sessionId });
//   const wav = ctx.createTempPath('wav');
//
// The registry's sweep stays the backstop for work that never ends.
import { silentLogger, type Logger } from '../../shared/logger.js';
import { TempFileError } from './errors.js';
import type { TempFileRegistry } from './registry.js';

/** The part of TempFileRegistry a context uses. */
export type TempFileSource = Pick<TempFileRegistry, 'createPath' | 'register' | 'has' | 'remove'>;

export interface AudioProcessingOptions {
  /** Recorded with every file, e.g. the session's tag (see TempFileMeta.owner). */
  owner?: string;
  /** Where a file that could not be removed is reported; default silent. */
  logger?: Logger;
}

export class AudioProcessingContext implements AsyncDisposable {
  readonly #registry: TempFileSource;
  readonly #owner: string | undefined;
  readonly #logger: Logger;
  readonly #paths = new Set<string>();
  #disposing: Promise<void> | undefined;

  constructor(registry: TempFileSource, options: AudioProcessingOptions = {}) {
    this.#registry = registry;
    this.#owner = options.owner;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The files this context will remove, in the order they were added. */
  get tempFiles(): readonly string[] {
    return [...this.#paths];
  }

  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  /** A fresh registered path for a file this work will create; `ext` is sanitised (see TempFileRegistry.createPath). */
  createTempPath(ext?: string): string {
    this.#assertLive('createTempPath');
    const path = this.#registry.createPath({ ext, owner: this.#owner });
    this.#paths.add(path);
    return path;
  }

  /**
   * Adds a file to remove with this context: one the registry already tracks (kept with its owner
   * and age), or a path of the registry's scheme, which is registered now (anything else is refused
   * with TEMP_PATH_REFUSED).
   */
  addTempFile(path: string): void {
    this.#assertLive('addTempFile');
    if (this.#registry.has(path)) {
      this.#paths.add(path);
      return;
    }
    this.#paths.add(this.#registry.register(path, this.#owner === undefined ? {} : { owner: this.#owner }));
  }

  /**
   * Removes every file of this context. Idempotent; never rejects: a file that could not be
   * removed is logged and stays tracked by the registry, whose sweep retries it.
   */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      const paths = [...this.#paths];
      this.#paths.clear();
      const outcomes = await Promise.allSettled(paths.map((path) => this.#registry.remove(path)));
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'rejected') {
          const err = outcome.reason as NodeJS.ErrnoException;
          this.#logger.warn({ path: paths[i], code: err?.code, err }, 'could not remove a temporary file of audio processing; the sweep will retry');
        }
      });
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #assertLive(operation: string): void {
    if (this.#disposing) throw new TempFileError('TEMP_CONTEXT_DISPOSED', `Cannot ${operation}: the audio processing context was disposed`);
  }
}
