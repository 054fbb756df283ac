// Child processes started without fork(). Node's child_process forks, which marks every writable
// page of this process copy-on-write: the next transcription then takes a page fault on each page
// of its whisper state's buffers (bench/RESULTS.md, bench:spawn-cost). The addon's spawnPiped uses
// vfork (CLONE_VM | CLONE_VFORK), which leaves this process's memory alone, and the child gets
// SIGKILL when this process dies (parent-death signal), so no ffmpeg outlives a killed server.
//
// What comes back behaves like the ChildProcess of child_process.spawn(file, args, { stdio:
// ['ignore', 'pipe', 'pipe'] }) for the parts ffmpeg's caller uses: pid, stdout, stderr, exitCode, signalCode, kill(),
// and 'exit' / 'close' events (close once the process is reaped and both pipes are closed).
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

import { loadBinding, type RawBinding } from './binding.js';
import { toWhisperError } from './errors.js';

export interface PipedChild extends EventEmitter {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
}

const signalNames = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

// How often a running child is checked for its exit: soon at first (most ffmpeg runs are short),
// then at most every 50 ms.
const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 50;

class SpawnedChild extends EventEmitter implements PipedChild {
  readonly stdout: Socket;
  readonly stderr: Socket;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  #openPipes = 2;
  #pollMs = FIRST_POLL_MS;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly binding: RawBinding,
    readonly pid: number,
    stdoutFd: number,
    stderrFd: number,
  ) {
    super();
    this.stdout = new Socket({ fd: stdoutFd, readable: true, writable: false });
    this.stderr = new Socket({ fd: stderrFd, readable: true, writable: false });
    for (const pipe of [this.stdout, this.stderr]) {
      pipe.once('close', () => {
        this.#openPipes--;
        this.#maybeClose();
      });
    }
    // Not at once: 'exit' must not fire before the caller could listen for it.
    this.#timer = setTimeout(() => this.#poll(), FIRST_POLL_MS);
  }

  get #exited(): boolean {
    return this.exitCode !== null || this.signalCode !== null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    // Never after the reap: the pid may belong to another process by then.
    if (this.#exited) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  #poll(): void {
    let status: { code: number; signal: number } | null;
    try {
      status = this.binding.reapChild(this.pid);
    } catch (err) {
      // An 'error' nobody listens for would throw here, in a timer, and take the process down.
      const error = toWhisperError(err);
      if (this.listenerCount('error') > 0) this.emit('error', error);
      if (error.code === 'SPAWN_FAILED') {
        // Not our child any more (someone else reaped it): report an unknown end.
        status = { code: -1, signal: 0 };
      } else {
        // A fault of this process (out of memory): the child is still ours, look again later.
        status = null;
      }
    }
    if (status === null) {
      this.#timer = setTimeout(() => this.#poll(), this.#pollMs);
      this.#pollMs = Math.min(MAX_POLL_MS, this.#pollMs * 2);
      return;
    }
    this.#timer = undefined;
    this.exitCode = status.signal === 0 ? status.code : null;
    this.signalCode = status.signal === 0 ? null : (signalNames.get(status.signal) ?? 'SIGKILL');
    this.emit('exit', this.exitCode, this.signalCode);
    this.#maybeClose();
  }

  #maybeClose(): void {
    if (this.#openPipes > 0) {
      return;
    }
    if (!this.#exited) {
      // Both pipes closed: the child is exiting; look again at once rather than at the next poll.
      if (this.#timer !== undefined && this.#pollMs > FIRST_POLL_MS) {
        clearTimeout(this.#timer);
        this.#pollMs = FIRST_POLL_MS;
        this.#poll();
      }
      return;
    }
    this.emit('close', this.exitCode, this.signalCode);
  }
}

/**
 * Starts `file` with `args`, stdin from /dev/null and stdout/stderr piped, without fork(). Throws
 * when the program cannot be started (not found, not executable): there is no child to wait for.
 */
export function spawnPiped(file: string, args: readonly string[]): PipedChild {
  const binding = loadBinding();
  let started: ReturnType<RawBinding['spawnPiped']>;
  try {
    started = binding.spawnPiped(file, [...args]);
  } catch (err) {
    throw toWhisperError(err, new Error());
  }
  return new SpawnedChild(binding, started.pid, started.stdout, started.stderr);
}
