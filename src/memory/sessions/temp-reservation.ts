import { assertByteCount, invalidValue } from '../../shared/errors.js';

/** How a reservation changes its session's count; SessionManager supplies it and enforces the limit. */
export interface TempBytesAccount {
  /** Adds bytes to the session or throws SessionLimitError, leaving the count unchanged. */
  grow(bytes: number): void;
  shrink(bytes: number): void;
}

/**
 * Bytes of temporary files reserved against a session's budget before they are written. An upload
 * reserves what it knows and grows as it streams in; `release()` is idempotent, and
 * `using reservation = sessions.reserveTempBytes(id, n)` releases it when the block exits.
 */
export class TempReservation implements Disposable {
  #account: TempBytesAccount | undefined;
  #bytes: number;

  /** @internal Made by SessionManager.reserveTempBytes(), after the first bytes were admitted. */
  constructor(account: TempBytesAccount, bytes: number) {
    this.#account = account;
    this.#bytes = bytes;
  }

  /** Bytes held now; 0 once released. */
  get bytes(): number {
    return this.#bytes;
  }

  get released(): boolean {
    return this.#account === undefined;
  }

  /** Holds `bytes` more, or throws SESSION_TEMP_BYTES_LIMIT (or SESSION_CLOSED) holding what it held. */
  grow(bytes: number): void {
    assertByteCount(bytes, 'grow');
    this.#live('grow').grow(bytes);
    this.#bytes += bytes;
  }

  /** Gives back `bytes` of what it holds, e.g. when a decoded file turned out smaller. */
  shrink(bytes: number): void {
    assertByteCount(bytes, 'shrink');
    if (bytes > this.#bytes) {
      throw new RangeError(invalidValue('shrink', `at most the ${this.#bytes} bytes held`, bytes));
    }
    this.#live('shrink').shrink(bytes);
    this.#bytes -= bytes;
  }

  release(): void {
    const account = this.#account;
    if (account === undefined) return;
    this.#account = undefined;
    account.shrink(this.#bytes);
    this.#bytes = 0;
  }

  [Symbol.dispose](): void {
    this.release();
  }

  #live(operation: string): TempBytesAccount {
    if (this.#account === undefined) throw new Error(`Cannot ${operation} a released temp reservation`);
    return this.#account;
  }
}
