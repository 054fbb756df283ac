// Admission for transcriptions: at most `concurrency` run, at most `maxQueue` wait, and anyone
// beyond that is turned away at once with 503 and Retry-After, so a burst never grows memory
// without bound. A waiter whose client goes away leaves the queue.
//
// Each transcription is also granted its threads here. With a fixed WHISPER_THREADS every one
// gets that many. Otherwise the machine's cores are a budget shared among the transcriptions
// that start together: a lone request gets every core (it answers sooner with all of them), and
// when several wait they start side by side with a share each (more requests/s than one state
// with every thread); the figures are in bench/RESULTS.md, bench:http. Requests still uploading or
// decoding their audio are announced and count as starting too: under load the line is often
// empty for the moment a client takes to send its next clip, and a request that took every core
// then would keep them to its end while the next one waits.
// A transcription keeps its threads to the end (whisper.cpp takes them per call), and nobody
// starts while no thread is free: more threads than cores would make ggml's workers spin against
// each other.
import { HttpError } from './errors.js';

export interface AdmissionQueueOptions {
  concurrency: number;
  maxQueue: number;
  /** Threads for every transcription; without it, `threadBudget` is shared out. */
  threadsPerTranscription?: number;
  /** The threads all running transcriptions may use together (the cores) when not fixed. */
  threadBudget?: number;
  /** Retry-After for a full queue, in seconds. */
  retryAfterS?: number;
  /** What runs, for the message of a full queue (default "transcriptions"). */
  work?: string;
}

/** What a transcription is admitted with. */
export interface Admission {
  threads: number;
}

interface Waiter {
  start: (threads: number) => void;
}

export class AdmissionQueue {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #fixedThreads: number | undefined;
  readonly #retryAfterS: number;
  readonly #work: string;
  #running = 0;
  #announced = 0;
  #freeThreads: number;
  readonly #waiting: Waiter[] = [];

  constructor(options: AdmissionQueueOptions) {
    this.#concurrency = options.concurrency;
    this.#maxQueue = options.maxQueue;
    this.#fixedThreads = options.threadsPerTranscription;
    this.#freeThreads = this.#fixedThreads === undefined ? Math.max(1, options.threadBudget ?? 1) : Number.POSITIVE_INFINITY;
    this.#retryAfterS = options.retryAfterS ?? 2;
    this.#work = options.work ?? 'transcriptions';
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Transcriptions announced and not yet asking for admission. */
  get announced(): number {
    return this.#announced;
  }

  /**
   * Announces a transcription on its way (its upload arriving, its audio decoding) until the
   * returned handle is disposed, which must happen before it asks for admission: meanwhile it
   * counts among those that start together when the cores are shared.
   */
  announce(): Disposable {
    this.#announced++;
    let disposed = false;
    return {
      [Symbol.dispose]: () => {
        if (disposed) return;
        disposed = true;
        this.#announced--;
      },
    };
  }

  /** Runs `work` when a slot and a thread are free; throws 503 QUEUE_FULL when the queue is full. */
  async run<T>(work: (admission: Admission) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const threads = await this.#admit(signal);
    try {
      return await work({ threads });
    } finally {
      this.#running--;
      this.#freeThreads += threads;
      this.#dispatch();
    }
  }

  #canStart(): boolean {
    return this.#running < this.#concurrency && this.#freeThreads >= 1;
  }

  // Takes a slot and the threads for one of `starting` transcriptions that start together, with
  // the announced ones, as far as there are slots for them.
  #take(starting: number): number {
    const sharing = Math.min(starting + this.#announced, this.#concurrency - this.#running);
    const threads = this.#fixedThreads ?? Math.max(1, Math.floor(this.#freeThreads / Math.max(1, sharing)));
    this.#running++;
    this.#freeThreads -= threads;
    return threads;
  }

  #dispatch(): void {
    while (this.#waiting.length > 0 && this.#canStart()) {
      const starting = Math.min(this.#waiting.length, this.#concurrency - this.#running, this.#freeThreads);
      (this.#waiting.shift() as Waiter).start(this.#take(starting));
    }
  }

  #admit(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(new HttpError(499, 'CLIENT_CLOSED', 'The client went away'));
    if (this.#waiting.length === 0 && this.#canStart()) return Promise.resolve(this.#take(1));
    if (this.#waiting.length >= this.#maxQueue) {
      return Promise.reject(
        new HttpError(503, 'QUEUE_FULL', `The server is busy: ${this.#running} ${this.#work} running and ${this.#waiting.length} waiting`, {
          'retry-after': String(this.#retryAfterS),
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const entry: Waiter = {
        start: (threads) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(threads);
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(new HttpError(499, 'CLIENT_CLOSED', 'The client went away'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }
}
