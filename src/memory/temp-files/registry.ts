// The registry of temporary upload files: one directory, files named so that their owning process
// can be told (temp-names.ts), tracked in the order they were registered so that a periodic sweep
// costs O(1) when nothing is due and O(due) when something is, and removed without ever following
// a link or touching anything this process did not make.
import { lstatSync } from 'node:fs';
import { lstat, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import { assertByteCount, invalidValue } from '../../shared/errors.js';
import { silentLogger, type Logger } from '../../shared/logger.js';
import { runBounded } from './bounded.js';
import { prepareTempDirectory } from './directory.js';
import { TempFileError } from './errors.js';
import { assertTempPrefix, DEFAULT_TEMP_PREFIX, makeTempName, parseTempName } from './names.js';
import { ArrivalQueue } from './arrival-queue.js';
import { removeFile, removeFileSync, type RemovalOutcome } from './removal.js';
import { sweepDeadOwners, type StartupSweepResult } from './startup-sweep.js';

export interface TempFileRegistryOptions {
  /** UPLOAD_DIR: created (0700) if missing; must be a real directory of this user. */
  dir: string;
  /** Default 'talk2me-'; 1-32 of [A-Za-z0-9_-], not ending in a digit. */
  prefix?: string;
  logger?: Logger;
  /** Clock in ms for ages; default performance.now() (monotonic, immune to wall-clock jumps). */
  now?: () => number;
  /** Unlinks in flight at once during a sweep; default DEFAULT_REMOVAL_CONCURRENCY. */
  removalConcurrency?: number;
}

export interface TempFileMeta {
  /** Who the file belongs to, e.g. a session's tag: counted in stats().owners; another owner cannot register the path. */
  owner?: string;
  /** Its size if the caller knows it; otherwise taken from the file if it exists. */
  size?: number;
}

export interface RemovalResult {
  removed: number;
  /** Bytes of the files removed (their last known size, or lstat's when none was known). */
  bytes: number;
  /** Files unlink refused (EACCES, EIO, ...): still tracked, tried again after another max age. */
  failed: number;
  durationMs: number;
}

export interface TempFileStats {
  count: number;
  /** Sum of the known sizes (registered with one, set with setSize(), or found at register()). */
  bytes: number;
  /** Age of the oldest file waiting for a sweep, or null when none is. */
  oldestAgeMs: number | null;
  owners: number;
}

interface Entry {
  readonly path: string;
  readonly owner: string | undefined;
  readonly registeredAt: number;
  bytes: number | undefined;
  /** queued: waiting in the arrival queue; leaving: taken for removal; gone: no longer tracked. */
  state: 'queued' | 'leaving' | 'gone';
  removal: Promise<RemovalOutcome> | undefined;
}

// Directories held by an open registry in this process (real paths). A second registry on the same
// directory would take the first one's files for a dead predecessor's (same pid) and remove them.
const openDirs = new Set<string>();

const ENOENT = 'ENOENT';

/**
 * Unlinks in flight during a sweep: libuv's default pool size. Unlinks in one directory serialise on
 * its lock in the kernel, so more in flight buy little speed, while each holds a pool thread (shared
 * with the addon's transcriptions) and a CPU the event loop then waits for. bench:memory compares
 * 1, 4, 8 and 16 in flight for sweep time against event-loop delay (bench/RESULTS.md).
 */
export const DEFAULT_REMOVAL_CONCURRENCY = 4;

export class TempFileRegistry implements AsyncDisposable {
  /** Absolute path of the directory; every path this registry hands out is directly inside it. */
  readonly dir: string;
  readonly prefix: string;
  /** What open() removed of dead processes' files. */
  readonly startupSweep: StartupSweepResult;
  readonly #realDir: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #concurrency: number;
  readonly #entries = new Map<string, Entry>();
  readonly #queue = new ArrivalQueue<Entry>((entry) => entry.state === 'queued');
  // Tracked files per owner, for stats().owners.
  readonly #owners = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  #knownBytes = 0;
  #lastStamp = -Infinity;
  #closing: Promise<RemovalResult> | undefined;

  private constructor(dir: string, realDir: string, prefix: string, logger: Logger, now: () => number, concurrency: number, startupSweep: StartupSweepResult) {
    this.dir = dir;
    this.#realDir = realDir;
    this.prefix = prefix;
    this.#logger = logger;
    this.#now = now;
    this.#concurrency = concurrency;
    this.startupSweep = startupSweep;
  }

  /** Prepares the directory, then removes the files of owners that are no longer running. */
  static async open(options: TempFileRegistryOptions): Promise<TempFileRegistry> {
    const prefix = options.prefix ?? DEFAULT_TEMP_PREFIX;
    assertTempPrefix(prefix);
    const concurrency = options.removalConcurrency ?? DEFAULT_REMOVAL_CONCURRENCY;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
      throw new RangeError(invalidValue('removalConcurrency', 'an integer from 1 to 1024', concurrency));
    }
    const now = options.now ?? (() => performance.now());
    if (typeof now !== 'function') throw new TypeError(invalidValue('now', 'a function', now));
    const logger = options.logger ?? silentLogger;
    const dir = await prepareTempDirectory(options.dir, logger);
    if (openDirs.has(dir.realPath)) {
      throw new TempFileError('TEMP_DIR_IN_USE', `Expected one registry per directory but ${dir.path} is already open in this process`);
    }
    openDirs.add(dir.realPath);
    try {
      const swept = await sweepDeadOwners(dir.path, prefix, { concurrency });
      if (swept.removed > 0 || swept.failed > 0) {
        logger.info({ dir: dir.path, ...swept }, 'removed temporary files left by processes that are gone');
      }
      return new TempFileRegistry(dir.path, dir.realPath, prefix, logger, now, concurrency, swept);
    } catch (err) {
      openDirs.delete(dir.realPath);
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Makes sure the directory is still there and still ours: one removed while the server runs is
   * recreated with the checks open() made (0700, this user's, no symlink). Throws TEMP_DIR_UNSAFE
   * when something else took its place, or the file system's error when it cannot be made.
   */
  async ensureDirectory(): Promise<void> {
    this.#assertOpen('ensureDirectory');
    const uid = process.getuid?.();
    try {
      const info = await lstat(this.dir);
      if (!info.isDirectory()) {
        throw new TempFileError('TEMP_DIR_UNSAFE', `Expected a directory for the temp file dir but ${this.dir} is ${info.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
      }
      if ((uid === undefined || info.uid === uid) && (info.mode & 0o077) === 0) return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== ENOENT) throw err;
      this.#logger.warn({ dir: this.dir }, 'the temp file dir vanished; recreating it');
    }
    const dir = await prepareTempDirectory(this.dir, this.#logger);
    if (dir.realPath !== this.#realDir) {
      throw new TempFileError('TEMP_DIR_UNSAFE', `Expected the temp file dir ${this.dir} to resolve to ${this.#realDir} but it resolves to ${dir.realPath}`);
    }
  }

  /** Bytes an unprivileged user may still write on the directory's file system. */
  async freeBytes(): Promise<number> {
    const info = await statfs(this.dir);
    return info.bavail * info.bsize;
  }

  /**
   * A fresh path inside the directory, `<prefix><pid>-<random>[.ext]`, registered at once (so a
   * crash between creating the file and registering it cannot leak it). Only `ext` comes from the
   * hint, sanitised to 1-8 of [a-z0-9] or dropped. Create the file with flag 'wx' (O_EXCL).
   */
  createPath(hint: { ext?: string; owner?: string } = {}): string {
    this.#assertOpen('createPath');
    let path: string;
    do path = join(this.dir, makeTempName(this.prefix, process.pid, hint.ext));
    while (this.#entries.has(path));
    this.#track(path, hint.owner, undefined);
    return path;
  }

  /**
   * Tracks a path of this registry's scheme (one made by another part of this process with the same
   * scheme, or one it no longer tracks). Refused: anything not directly inside the directory, not
   * named with our prefix and pid, a symlink, or not a regular file. A path already tracked keeps
   * its age. Returns the path as the registry keys it.
   */
  register(path: string, meta: TempFileMeta = {}): string {
    this.#assertOpen('register');
    const key = this.#ownPath(path);
    if (meta.size !== undefined) assertByteCount(meta.size, 'size');
    let bytes = meta.size;
    try {
      const info = lstatSync(key);
      if (info.isSymbolicLink()) throw refused(key, 'is a symlink');
      if (!info.isFile()) throw refused(key, 'is not a regular file');
      bytes ??= info.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== ENOENT) throw err;
    }
    const existing = this.#entries.get(key);
    if (existing) {
      if (existing.state === 'leaving') throw refused(key, 'is being removed');
      if (meta.owner !== existing.owner) throw refused(key, `is registered for owner ${JSON.stringify(existing.owner ?? null)}`);
      if (bytes !== undefined) this.#setBytes(existing, bytes);
      return key;
    }
    this.#track(key, meta.owner, bytes);
    return key;
  }

  /** Whether the path is tracked (including while its removal is in flight). */
  has(path: string): boolean {
    const key = this.#keyOf(path);
    return key !== undefined && this.#entries.has(key);
  }

  /** Records a tracked file's size, e.g. as an upload streams in. */
  setSize(path: string, bytes: number): void {
    assertByteCount(bytes, 'setSize');
    const key = this.#keyOf(path);
    const entry = key === undefined ? undefined : this.#entries.get(key);
    if (!entry) throw refused(path, 'is not registered');
    this.#setBytes(entry, bytes);
  }

  /**
   * Unlinks one of our paths, tracked or not, and stops tracking it. Resolves true if a file was
   * removed, false if there was none (ENOENT) or a directory took its name (left alone); rejects
   * with the unlink error otherwise (the path then stays tracked for a later sweep). A path that is
   * not ours is refused (TEMP_PATH_REFUSED), never unlinked.
   */
  async remove(path: string): Promise<boolean> {
    const key = this.#ownPath(path);
    const entry = this.#entries.get(key);
    let outcome: RemovalOutcome;
    if (entry) {
      if (entry.state === 'queued') {
        this.#queue.markStale();
        entry.state = 'leaving';
      }
      outcome = await this.#removalOf(entry);
    } else {
      outcome = await removeFile(key);
    }
    if (outcome.kind === 'failed') throw outcome.error;
    return outcome.kind === 'removed';
  }

  /**
   * Removes the tracked files registered at least `maxAgeMs` ago. Looks at the oldest entry only
   * when nothing is due (no file system call at all); due files are unlinked a few at a time.
   */
  sweep(maxAgeMs: number): Promise<RemovalResult> {
    if (typeof maxAgeMs !== 'number' || !(maxAgeMs >= 0)) {
      return Promise.reject(new RangeError(invalidValue('maxAgeMs', 'a non-negative number of milliseconds', maxAgeMs)));
    }
    const started = performance.now();
    const cutoff = this.#now() - maxAgeMs;
    const due = this.#queue.shiftWhile((entry) => entry.registeredAt <= cutoff);
    if (due.length === 0) return Promise.resolve({ removed: 0, bytes: 0, failed: 0, durationMs: performance.now() - started });
    for (const entry of due) entry.state = 'leaving';
    return this.#pendingOp(this.#removeEntries(due, started, 'swept temporary files'));
  }

  stats(): TempFileStats {
    const oldest = this.#queue.peek();
    return {
      count: this.#entries.size,
      bytes: this.#knownBytes,
      oldestAgeMs: oldest === undefined ? null : Math.max(0, this.#now() - oldest.registeredAt),
      owners: this.#owners.size,
    };
  }

  /** Removes every tracked file (and waits for removals already in flight). */
  removeAll(): Promise<RemovalResult> {
    const started = performance.now();
    for (const entry of this.#queue.drain()) entry.state = 'leaving';
    const entries = [...this.#entries.values()];
    return this.#pendingOp(this.#removeEntries(entries, started, 'removed all temporary files'));
  }

  /**
   * The same for a process's 'exit' event, where no asynchronous work runs any more: blocks for as
   * long as the unlinks take, so only for the exit path. Never throws.
   */
  removeAllSync(): RemovalResult {
    const started = performance.now();
    let removed = 0;
    let bytes = 0;
    let failed = 0;
    for (const entry of [...this.#entries.values()]) {
      const outcome = removeFileSync(entry.path, entry.bytes);
      if (outcome.kind === 'failed') {
        failed++;
        continue;
      }
      if (outcome.kind === 'removed') {
        removed++;
        bytes += outcome.bytes;
      }
      this.#untrack(entry);
    }
    return { removed, bytes, failed, durationMs: performance.now() - started };
  }

  /**
   * Refuses new paths, waits for sweeps in flight, removes every tracked file and releases the
   * directory. Idempotent: later calls return the first call's result.
   */
  close(): Promise<RemovalResult> {
    this.#closing ??= (async () => {
      try {
        await Promise.allSettled([...this.#pending]);
        return await this.removeAll();
      } finally {
        openDirs.delete(this.#realDir);
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(operation: string): void {
    if (this.#closing) throw new TempFileError('TEMP_REGISTRY_CLOSED', `Cannot ${operation}: the temp file registry for ${this.dir} is closed`);
  }

  /** The registry's key for a path directly inside the directory, or undefined. */
  #keyOf(path: string): string | undefined {
    if (typeof path !== 'string' || path === '') return undefined;
    const absolute = resolve(path);
    const parent = dirname(absolute);
    if (parent !== this.dir && parent !== this.#realDir) return undefined;
    return join(this.dir, basename(absolute));
  }

  /** The key for a path this process may own, or TEMP_PATH_REFUSED. */
  #ownPath(path: string): string {
    const key = this.#keyOf(path);
    if (key === undefined) throw refused(path, `is not directly inside ${this.dir}`);
    const parsed = parseTempName(this.prefix, basename(key));
    if (parsed === undefined || parsed.pid !== process.pid) {
      throw refused(path, `is not named ${this.prefix}${process.pid}-<16 hex digits>[.ext] (this process's files)`);
    }
    return key;
  }

  /** Registration time, never earlier than the previous one, so the queue stays ordered even if an injected clock steps back. */
  #stamp(): number {
    const now = this.#now();
    if (now > this.#lastStamp) this.#lastStamp = now;
    return this.#lastStamp;
  }

  #track(path: string, owner: string | undefined, bytes: number | undefined): void {
    if (owner !== undefined && typeof owner !== 'string') {
      throw new TypeError(invalidValue('owner', 'a string', owner));
    }
    const entry: Entry = { path, owner, registeredAt: this.#stamp(), bytes, state: 'queued', removal: undefined };
    this.#entries.set(path, entry);
    this.#queue.push(entry);
    this.#knownBytes += bytes ?? 0;
    if (owner !== undefined) this.#owners.set(owner, (this.#owners.get(owner) ?? 0) + 1);
  }

  #untrack(entry: Entry): void {
    if (this.#entries.get(entry.path) !== entry) return;
    if (entry.state === 'queued') this.#queue.markStale();
    entry.state = 'gone';
    this.#entries.delete(entry.path);
    this.#knownBytes -= entry.bytes ?? 0;
    if (entry.owner !== undefined) {
      const count = (this.#owners.get(entry.owner) ?? 0) - 1;
      if (count > 0) this.#owners.set(entry.owner, count);
      else this.#owners.delete(entry.owner);
    }
  }

  #setBytes(entry: Entry, bytes: number): void {
    const delta = bytes - (entry.bytes ?? 0);
    entry.bytes = bytes;
    if (entry.state === 'gone') return;
    this.#knownBytes += delta;
  }

  /** Starts the entry's unlink, or joins the one in flight. */
  #removalOf(entry: Entry): Promise<RemovalOutcome> {
    // Already settled by another caller: its path may even belong to a newer entry by now.
    if (entry.state === 'gone') return Promise.resolve({ kind: 'absent' });
    entry.removal ??= removeFile(entry.path, entry.bytes).then((outcome) => {
      entry.removal = undefined;
      if (this.#entries.get(entry.path) !== entry) return outcome; // removeAllSync got there first
      if (outcome.kind === 'failed') {
        // Tracked again as if registered now, so it is retried once due again rather than at every
        // sweep. A new entry, because the old one may still sit in a queue slot marked stale.
        this.#untrack(entry);
        this.#track(entry.path, entry.owner, entry.bytes);
        this.#logger.warn({ path: entry.path, code: outcome.error.code, err: outcome.error }, 'could not remove a temporary file; will retry');
        return outcome;
      }
      if (outcome.kind === 'not-a-file') {
        this.#logger.warn({ path: entry.path }, 'a directory took the name of a temporary file; left alone and no longer tracked');
      }
      this.#untrack(entry);
      return outcome;
    });
    return entry.removal;
  }

  async #removeEntries(entries: Entry[], started: number, message: string): Promise<RemovalResult> {
    let removed = 0;
    let bytes = 0;
    let failed = 0;
    await runBounded(entries, this.#concurrency, async (entry) => {
      const outcome = await this.#removalOf(entry);
      if (outcome.kind === 'removed') {
        removed++;
        bytes += outcome.bytes;
      } else if (outcome.kind === 'failed') {
        failed++;
      }
    });
    const result = { removed, bytes, failed, durationMs: performance.now() - started };
    if (removed > 0 || failed > 0) {
      this.#logger.info({ ...result, remaining: this.#entries.size }, message);
    }
    return result;
  }

  #pendingOp<T>(operation: Promise<T>): Promise<T> {
    this.#pending.add(operation);
    const forget = (): void => {
      this.#pending.delete(operation);
    };
    operation.then(forget, forget);
    return operation;
  }
}

function refused(path: string, why: string): TempFileError {
  return new TempFileError('TEMP_PATH_REFUSED', `Refused temp file path ${JSON.stringify(path)}: it ${why}`);
}

