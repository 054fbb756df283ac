// Requests over their session's concurrency wait their turn instead of being refused: an SDK that
// sends six requests at once on one session gets six answers, not two and four 429s whose retry
// comes sooner than a transcription ends. The wait is bounded per session (SESSION_MAX_QUEUED):
// beyond it the request is refused with 429 and Retry-After. A waiting request has not been read
// yet (its body stays in the socket), so waiting costs a connection and nothing more; for the same
// reason a waiter that hangs up is noticed when its turn comes and the socket is read again.
import type { RequestLease, RequestOptions, SessionManager } from '../memory/sessions/index.js';

export class SessionGate {
  readonly #sessions: SessionManager;
  readonly #maxWaiting: number;
  readonly #waiting = new Map<string, Array<() => void>>();

  constructor(sessions: SessionManager, maxWaiting: number) {
    this.#sessions = sessions;
    this.#maxWaiting = maxWaiting;
  }

  /** Requests waiting for a slot of their session, over all sessions. */
  get waiting(): number {
    let n = 0;
    for (const queue of this.#waiting.values()) n += queue.length;
    return n;
  }

  /**
   * A lease on one of the session's request slots, once one is free; rejects with
   * SESSION_CONCURRENCY_LIMIT when the session's waiting line is full, or with the signal's reason.
   */
  async begin(id: string, options: RequestOptions, signal: AbortSignal): Promise<RequestLease> {
    // Someone already waiting goes first: a newcomer does not jump the line when a slot frees.
    let woken = false;
    for (let first = true; this.#sessions.atConcurrencyLimit(id) || (first && this.#queued(id) > 0); first = false) {
      // A full line: beginRequest refuses the request (and counts the refusal) if it is still over.
      if (this.#queued(id) >= this.#maxWaiting) break;
      await this.#wait(id, signal);
      woken = true;
    }
    let lease: RequestLease;
    try {
      lease = this.#sessions.beginRequest(id, options);
    } catch (err) {
      // Woken for a free slot and refused all the same (its address is at its own limit): the slot
      // goes to the next in line. Kept, the wake-up would be lost, the slot would stay free, and
      // everyone behind (newcomers too, who queue behind them) would wait for a request end that
      // is not coming.
      if (woken) this.#wake(id);
      throw err;
    }
    const end = lease.end.bind(lease);
    lease.end = () => {
      const ended = lease.ended;
      end();
      if (!ended) this.#wake(id);
    };
    return lease;
  }

  #queued(id: string): number {
    return this.#waiting.get(id)?.length ?? 0;
  }

  #wait(id: string, signal: AbortSignal): Promise<void> {
    const queue = this.#waiting.get(id) ?? [];
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        const i = queue.indexOf(wake);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0 && this.#waiting.get(id) === queue) this.#waiting.delete(id);
        reject(signal.reason);
      };
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      queue.push(wake);
      this.#waiting.set(id, queue);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #wake(id: string): void {
    const queue = this.#waiting.get(id);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.#waiting.delete(id);
    next?.();
  }
}
