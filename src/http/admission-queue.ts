// Admission for transcriptions: at most `concurrency` run, at most `maxQueue` wait, and anyone
// beyond that is turned away at once with 503 and Retry-After, so a burst never grows memory
// without bound. A waiter whose client goes away leaves the queue.
import { HttpError } from './errors.js';

export interface AdmissionQueueOptions {
  concurrency: number;
  maxQueue: number;
  /** Retry-After for a full queue, in seconds. */
  retryAfterS?: number;
}

export class AdmissionQueue {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #retryAfterS: number;
  #running = 0;
  readonly #waiting: Array<{ start: () => void; cancel: (err: unknown) => void }> = [];

  constructor(options: AdmissionQueueOptions) {
    this.#concurrency = options.concurrency;
    this.#maxQueue = options.maxQueue;
    this.#retryAfterS = options.retryAfterS ?? 2;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Runs `work` when a slot is free; throws 503 QUEUE_FULL when the queue is full. */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#admit(signal);
    try {
      return await work();
    } finally {
      this.#running--;
      this.#waiting.shift()?.start();
    }
  }

  #admit(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new HttpError(499, 'CLIENT_CLOSED', 'The client went away'));
    if (this.#running < this.#concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.#maxQueue) {
      return Promise.reject(
        new HttpError(503, 'QUEUE_FULL', `The server is busy: ${this.#running} transcriptions running and ${this.#waiting.length} waiting`, {
          'retry-after': String(this.#retryAfterS),
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const entry = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#running++;
          resolve();
        },
        cancel: reject,
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

  /** Rejects everyone waiting (shutdown). */
  rejectWaiting(err: unknown): void {
    for (const entry of this.#waiting.splice(0)) entry.cancel(err);
  }
}
