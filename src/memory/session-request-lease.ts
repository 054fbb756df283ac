/**
 * One request counted against its session's concurrency limit. `end()` is idempotent, and
 * `using lease = sessions.beginRequest(id)` ends it when the block exits, however it exits.
 */
export class RequestLease implements Disposable {
  #onEnd: (() => void) | undefined;

  /** @internal Made by SessionManager.beginRequest(). */
  constructor(onEnd: () => void) {
    this.#onEnd = onEnd;
  }

  get ended(): boolean {
    return this.#onEnd === undefined;
  }

  end(): void {
    const onEnd = this.#onEnd;
    // Dropping the callback also drops its hold on the session record.
    this.#onEnd = undefined;
    onEnd?.();
  }

  [Symbol.dispose](): void {
    this.end();
  }
}
