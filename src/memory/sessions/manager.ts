import { type Logger, silentLogger } from '../../shared/logger.js';
import { SESSION_ERROR_CODES, type SessionErrorCode, SessionLimitError } from './errors.js';
import { invalidSessionIdError, isValidSessionId } from './id.js';
import { resolveSessionLimits, type SessionLimits } from './limits.js';
import { type SessionInfo, SessionRecord } from './record.js';
import { assertByteCount } from '../../shared/errors.js';
import { TempReservation } from './temp-reservation.js';

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

/** Why a session left: idle past the timeout (by expireIdle() or to make room), or close()/closeAll(). */
type SessionReleaseReason = 'expired' | 'closed';

export interface SessionManagerOptions extends Partial<SessionLimits> {
  /** Milliseconds since the epoch; injected so tests drive time. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export interface SessionStats {
  active: number;
  inflight: number;
  tempBytes: number;
  limits: SessionLimits;
  createdTotal: number;
  expiredTotal: number;
  closedTotal: number;
  rejectedTotal: Record<SessionErrorCode, number>;
}

/**
 * Per-session limits: concurrent requests, bytes of temporary files, the number of sessions, and
 * idle expiry, so that an abandoned session stops counting against them.
 *
 * Sessions are keyed by an opaque id the HTTP layer reads from a cookie or header. The manager
 * keeps one small record per live session and nothing per request: a lease or reservation is
 * owned by its caller and only changes the record's counters. It starts no timers; the memory
 * manager calls expireIdle() on its own schedule.
 */
export class SessionManager {
  readonly limits: Readonly<SessionLimits>;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #rejected: Record<SessionErrorCode, number>;
  #createdTotal = 0;
  #expiredTotal = 0;
  #closedTotal = 0;
  // Warn once per spell of being full, not once per refused client.
  #warnedFull = false;

  constructor(options: SessionManagerOptions = {}) {
    this.limits = Object.freeze(resolveSessionLimits(options));
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? silentLogger;
    this.#rejected = Object.fromEntries(SESSION_ERROR_CODES.map((code) => [code, 0])) as Record<SessionErrorCode, number>;
  }

  /**
   * Gets or creates the session and marks it seen now. Creating one beyond maxSessions first
   * evicts the expired sessions; if none had expired it throws SESSION_COUNT_LIMIT.
   */
  touch(id: string): SessionInfo {
    return this.#touch(id).info();
  }

  /** The session's snapshot without creating it or marking it seen; undefined if it does not exist. */
  peek(id: string): SessionInfo | undefined {
    this.#validate(id);
    return this.#sessions.get(id)?.info();
  }

  /**
   * Counts one request against the session (touching it); throws SESSION_CONCURRENCY_LIMIT when it
   * already runs maxConcurrentPerSession. A session with a request in flight is never expired, and
   * its idle time counts from the end of its last request.
   */
  beginRequest(id: string): RequestLease {
    const record = this.#touch(id);
    const limit = this.limits.maxConcurrentPerSession;
    if (record.inflight >= limit) {
      throw this.#reject(
        new SessionLimitError(
          'SESSION_CONCURRENCY_LIMIT',
          `This session already runs ${record.inflight} requests, the most one session may run at once; retry when one finishes`,
          { limit },
        ),
        record,
      );
    }
    record.inflight += 1;
    return new RequestLease(() => {
      record.inflight -= 1;
      record.lastSeenAt = this.#now();
    });
  }

  /**
   * Reserves `bytes` of temporary files against the session (touching it); throws
   * SESSION_TEMP_BYTES_LIMIT when its reservations would exceed maxTempBytesPerSession. Reserve 0 and
   * grow() as an upload streams in when the size is not known up front.
   */
  reserveTempBytes(id: string, bytes: number): TempReservation {
    this.#validate(id);
    assertByteCount(bytes, 'reserveTempBytes');
    const record = this.#touch(id);
    this.#growTemp(record, bytes);
    const account = {
      grow: (more: number) => this.#growTemp(record, more),
      shrink: (less: number) => {
        record.tempBytes -= less;
      },
    };
    return new TempReservation(account, bytes);
  }

  /** Removes every session idle for idleTimeoutMs with no request in flight. */
  expireIdle(): { expired: number } {
    const expired = this.#removeExpired(this.#now());
    if (expired > 0) {
      this.#log.info({ expired, active: this.#sessions.size }, 'expired idle sessions');
    }
    return { expired };
  }

  /**
   * Removes the session now, in flight or not. Its outstanding leases and reservations stay
   * harmless: ending them changes nothing live, and growing a reservation throws SESSION_CLOSED.
   * An unknown id is not an error.
   */
  close(id: string): void {
    this.#validate(id);
    const record = this.#sessions.get(id);
    if (record) this.#remove(record, 'closed');
  }

  /** Closes every session (at shutdown). */
  closeAll(): void {
    for (const record of [...this.#sessions.values()]) this.#remove(record, 'closed');
  }

  stats(): SessionStats {
    let inflight = 0;
    let tempBytes = 0;
    for (const record of this.#sessions.values()) {
      inflight += record.inflight;
      tempBytes += record.tempBytes;
    }
    return {
      active: this.#sessions.size,
      inflight,
      tempBytes,
      limits: { ...this.limits },
      createdTotal: this.#createdTotal,
      expiredTotal: this.#expiredTotal,
      closedTotal: this.#closedTotal,
      rejectedTotal: { ...this.#rejected },
    };
  }

  /** Every live session in creation order, named by tag (never by id: see sessionTag()). */
  list(): SessionInfo[] {
    return [...this.#sessions.values()].map((record) => record.info());
  }

  #validate(id: unknown): asserts id is string {
    if (isValidSessionId(id)) return;
    throw this.#reject(invalidSessionIdError(id));
  }

  #touch(id: string): SessionRecord {
    this.#validate(id);
    const now = this.#now();
    const existing = this.#sessions.get(id);
    if (existing) {
      existing.lastSeenAt = now;
      return existing;
    }
    if (this.#sessions.size >= this.limits.maxSessions) {
      const evicted = this.#removeExpired(now);
      if (evicted > 0) this.#log.info({ evicted, active: this.#sessions.size }, 'evicted expired sessions to make room');
    }
    if (this.#sessions.size >= this.limits.maxSessions) {
      const retryAfterS = this.#secondsUntilOneCanExpire(now);
      if (!this.#warnedFull) {
        this.#warnedFull = true;
        this.#log.warn({ active: this.#sessions.size, limit: this.limits.maxSessions, retryAfterS }, 'session limit reached, refusing new sessions');
      }
      throw this.#reject(
        new SessionLimitError(
          'SESSION_COUNT_LIMIT',
          `The service holds ${this.#sessions.size} sessions, the most it may; retry in ${retryAfterS} s`,
          { retryAfterS, limit: this.limits.maxSessions },
        ),
      );
    }
    this.#warnedFull = false;
    const record = new SessionRecord(id, now);
    this.#sessions.set(id, record);
    this.#createdTotal += 1;
    return record;
  }

  #growTemp(record: SessionRecord, bytes: number): void {
    if (record.closed) {
      throw this.#reject(
        new SessionLimitError('SESSION_CLOSED', 'This session was closed while the request held temporary files; start a new request'),
        record,
      );
    }
    const limit = this.limits.maxTempBytesPerSession;
    if (record.tempBytes + bytes > limit) {
      const message =
        bytes > limit
          ? `${bytes} bytes of temporary files exceed the ${limit} bytes one session may hold`
          : `This session holds ${record.tempBytes} bytes of temporary files; ${bytes} more would exceed the ${limit} bytes one session may hold; retry when its other requests finish`;
      throw this.#reject(new SessionLimitError('SESSION_TEMP_BYTES_LIMIT', message, { limit, requestedBytes: bytes }), record);
    }
    record.tempBytes += bytes;
    record.lastSeenAt = this.#now();
  }

  // Removes the expired sessions and returns how many.
  #removeExpired(now: number): number {
    let expired = 0;
    for (const record of this.#sessions.values()) {
      if (!record.isExpired(now, this.limits.idleTimeoutMs)) continue;
      this.#remove(record, 'expired');
      expired += 1;
    }
    return expired;
  }

  // The earliest a session could expire: an idle one at its timeout, a busy one a full timeout after
  // its last request ends (now at the soonest).
  #secondsUntilOneCanExpire(now: number): number {
    let soonestMs = this.limits.idleTimeoutMs;
    for (const record of this.#sessions.values()) {
      if (record.inflight === 0) soonestMs = Math.min(soonestMs, record.lastSeenAt + this.limits.idleTimeoutMs - now);
    }
    return Math.max(1, Math.ceil(soonestMs / 1000));
  }

  #remove(record: SessionRecord, reason: SessionReleaseReason): void {
    this.#sessions.delete(record.id);
    record.closed = true;
    if (reason === 'expired') this.#expiredTotal += 1;
    else this.#closedTotal += 1;
    this.#log.debug({ session: record.tag, reason, tempBytes: record.tempBytes }, 'session released');
  }

  #reject(error: SessionLimitError, record?: SessionRecord): SessionLimitError {
    this.#rejected[error.code] += 1;
    this.#log.debug({ code: error.code, session: record?.tag }, 'session request refused');
    return error;
  }
}
