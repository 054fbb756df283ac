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

/** Why a session left: idle past the timeout, replaced by a new one while idle (to make room), or close()/closeAll(). */
type SessionReleaseReason = 'expired' | 'evicted' | 'closed';

/** Who is asking: the client's address and whether an unknown id may become a session now. */
export interface RequestOptions {
  /** The client's address: its per-address limits apply, and a session it makes counts against its per-address cap. */
  address?: string;
  /**
   * false: an unknown id makes no session yet. The request is counted on a provisional record,
   * shared by the requests that name the id at once and gone when they end, until keep() makes it
   * a session; so requests refused on their content never fill the table. Default true.
   */
  create?: boolean;
}

/** What one client address holds, whatever sessions it names; dropped when it holds nothing. */
interface AddressRecord {
  inflight: number;
  tempBytes: number;
  sessions: Set<SessionRecord>;
}

// When every session has a request in flight, one ends within a request's time: a short wait, not an idle timeout.
const BUSY_RETRY_AFTER_S = 5;
// A full staging budget empties as uploads finish or are cut off.
const STAGED_RETRY_AFTER_S = 10;

export interface SessionManagerOptions extends Partial<SessionLimits> {
  /** Milliseconds since the epoch; injected so tests drive time. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export interface SessionStats {
  active: number;
  /** Records of requests whose session is not kept (yet). */
  provisional: number;
  /** Client addresses with a session or a request. */
  addresses: number;
  inflight: number;
  tempBytes: number;
  limits: SessionLimits;
  createdTotal: number;
  expiredTotal: number;
  /** Idle sessions replaced by new ones when a cap was reached. */
  evictedTotal: number;
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
  readonly #provisional = new Map<string, SessionRecord>();
  readonly #addresses = new Map<string, AddressRecord>();
  readonly #rejected: Record<SessionErrorCode, number>;
  #tempBytesTotal = 0;
  #createdTotal = 0;
  #expiredTotal = 0;
  #evictedTotal = 0;
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
   * Gets or creates the session and marks it seen now. Creating one beyond maxSessions (or beyond
   * maxSessionsPerAddress for its address) first removes the expired sessions, then replaces the
   * least recently seen idle one: an idle session holds nothing, and a client that comes back
   * simply gets it anew. Only when every session has a request in flight does it throw
   * SESSION_COUNT_LIMIT, with a short retryAfterS.
   */
  touch(id: string, options: Pick<RequestOptions, 'address'> = {}): SessionInfo {
    return this.#touch(id, options.address).info();
  }

  /**
   * Makes a request's provisional record (beginRequest with create: false) a session, as touch()
   * does; true when the session is kept. When every session is busy it returns false and the
   * request goes on, counted on its provisional record: a valid request is not refused for want
   * of a table slot.
   */
  keep(id: string, options: Pick<RequestOptions, 'address'> = {}): boolean {
    try {
      this.#touch(id, options.address);
      return true;
    } catch (err) {
      if (err instanceof SessionLimitError && err.code === 'SESSION_COUNT_LIMIT') return false;
      throw err;
    }
  }

  /**
   * Whether the session (kept or provisional) already runs its maximum of requests, so that
   * beginRequest would refuse it; asks without counting a refusal or touching anything.
   */
  atConcurrencyLimit(id: string): boolean {
    this.#validate(id);
    const record = this.#sessions.get(id) ?? this.#provisional.get(id);
    return record !== undefined && record.inflight >= this.limits.maxConcurrentPerSession;
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
  beginRequest(id: string, options: RequestOptions = {}): RequestLease {
    this.#validate(id);
    const { address } = options;
    const record = options.create === false ? this.#existingOrProvisional(id, address) : this.#touch(id, address);
    const limit = this.limits.maxConcurrentPerSession;
    if (record.inflight >= limit) {
      this.#dropIfUnused(record, address);
      throw this.#reject(
        new SessionLimitError(
          'SESSION_CONCURRENCY_LIMIT',
          `This session already runs ${record.inflight} requests, the most one session may run at once; retry when one finishes`,
          { limit },
        ),
        record,
      );
    }
    const client = address === undefined ? undefined : this.#address(address);
    if (client && client.inflight >= this.limits.maxConcurrentPerAddress) {
      this.#dropIfUnused(record, address);
      throw this.#reject(
        new SessionLimitError(
          'ADDRESS_CONCURRENCY_LIMIT',
          `Your address already runs ${client.inflight} requests, the most one client address may run at once, whatever sessions they name; retry when one finishes`,
          { limit: this.limits.maxConcurrentPerAddress },
        ),
        record,
      );
    }
    record.inflight += 1;
    if (client) client.inflight += 1;
    return new RequestLease(() => {
      record.inflight -= 1;
      record.lastSeenAt = this.#now();
      if (client) client.inflight -= 1;
      this.#dropIfUnused(record, address);
    });
  }

  /**
   * Reserves `bytes` of temporary files against the session (touching it); throws
   * SESSION_TEMP_BYTES_LIMIT when its reservations would exceed maxTempBytesPerSession. Reserve 0 and
   * grow() as an upload streams in when the size is not known up front.
   */
  reserveTempBytes(id: string, bytes: number, options: Pick<RequestOptions, 'address'> = {}): TempReservation {
    this.#validate(id);
    assertByteCount(bytes, 'reserveTempBytes');
    const { address } = options;
    // A request still on its provisional record reserves on it.
    const record = this.#provisional.get(id) ?? this.#touch(id, address);
    this.#growTemp(record, bytes, address);
    const account = {
      grow: (more: number) => this.#growTemp(record, more, address),
      shrink: (less: number) => {
        record.tempBytes -= less;
        this.#tempBytesTotal -= less;
        const client = address === undefined ? undefined : this.#addresses.get(address);
        if (client) client.tempBytes -= less;
        this.#dropIfUnused(record, address);
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

  /** Closes every session (at shutdown), provisional records included. */
  closeAll(): void {
    for (const record of [...this.#sessions.values()]) this.#remove(record, 'closed');
    for (const record of this.#provisional.values()) record.closed = true;
    this.#provisional.clear();
  }

  stats(): SessionStats {
    let inflight = 0;
    for (const record of this.#sessions.values()) inflight += record.inflight;
    for (const record of this.#provisional.values()) inflight += record.inflight;
    return {
      active: this.#sessions.size,
      provisional: this.#provisional.size,
      addresses: this.#addresses.size,
      inflight,
      tempBytes: this.#tempBytesTotal,
      limits: { ...this.limits },
      createdTotal: this.#createdTotal,
      expiredTotal: this.#expiredTotal,
      evictedTotal: this.#evictedTotal,
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

  #touch(id: string, address?: string): SessionRecord {
    this.#validate(id);
    const now = this.#now();
    const existing = this.#sessions.get(id);
    if (existing) {
      existing.lastSeenAt = now;
      return existing;
    }
    const provisional = this.#provisional.get(id);
    const owner = provisional ? provisional.address : address;
    this.#makeRoom(now, owner);
    this.#warnedFull = false;
    const record = provisional ?? new SessionRecord(id, now, owner);
    this.#provisional.delete(id);
    record.lastSeenAt = now;
    this.#sessions.set(id, record);
    if (owner !== undefined) this.#address(owner).sessions.add(record);
    this.#createdTotal += 1;
    return record;
  }

  // The session named `id`, touched, or the provisional record of the requests naming it.
  #existingOrProvisional(id: string, address: string | undefined): SessionRecord {
    const existing = this.#sessions.get(id);
    if (existing) {
      existing.lastSeenAt = this.#now();
      return existing;
    }
    let record = this.#provisional.get(id);
    if (!record) {
      record = new SessionRecord(id, this.#now(), address);
      this.#provisional.set(id, record);
    }
    return record;
  }

  // Room for one more session of `address`: expired sessions go first, then the least recently seen
  // idle one, of that address when it is at its cap, else of anyone.
  #makeRoom(now: number, address: string | undefined): void {
    const client = address === undefined ? undefined : this.#addresses.get(address);
    if (client && client.sessions.size >= this.limits.maxSessionsPerAddress) {
      const victim = leastRecentlySeenIdle(client.sessions.values());
      if (!victim) throw this.#full(`Your address holds ${client.sessions.size} sessions, each with a request in flight, the most one address may`);
      this.#remove(victim, 'evicted');
    }
    if (this.#sessions.size < this.limits.maxSessions) return;
    const expired = this.#removeExpired(now);
    if (expired > 0) this.#log.info({ expired, active: this.#sessions.size }, 'expired idle sessions to make room');
    if (this.#sessions.size < this.limits.maxSessions) return;
    const victim = leastRecentlySeenIdle(this.#sessions.values());
    if (!victim) throw this.#full(`The service holds ${this.#sessions.size} sessions, each with a request in flight, the most it may`);
    this.#remove(victim, 'evicted');
  }

  #full(what: string): SessionLimitError {
    if (!this.#warnedFull) {
      this.#warnedFull = true;
      this.#log.warn({ active: this.#sessions.size, limit: this.limits.maxSessions }, 'every session is busy, refusing new sessions');
    }
    return this.#reject(
      new SessionLimitError('SESSION_COUNT_LIMIT', `${what}; retry in ${BUSY_RETRY_AFTER_S} s`, { retryAfterS: BUSY_RETRY_AFTER_S, limit: this.limits.maxSessions }),
    );
  }

  #address(address: string): AddressRecord {
    let client = this.#addresses.get(address);
    if (!client) {
      client = { inflight: 0, tempBytes: 0, sessions: new Set() };
      this.#addresses.set(address, client);
    }
    return client;
  }

  // Forgets a provisional record and an address record once they hold nothing.
  #dropIfUnused(record: SessionRecord, address: string | undefined): void {
    if (record.idle && this.#provisional.get(record.id) === record) this.#provisional.delete(record.id);
    if (address === undefined) return;
    const client = this.#addresses.get(address);
    if (client && client.inflight === 0 && client.tempBytes === 0 && client.sessions.size === 0) this.#addresses.delete(address);
  }

  #growTemp(record: SessionRecord, bytes: number, address: string | undefined): void {
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
    const client = address === undefined ? undefined : this.#address(address);
    const perAddress = this.limits.maxTempBytesPerAddress;
    if (client && client.tempBytes + bytes > perAddress) {
      this.#dropIfUnused(record, address);
      throw this.#reject(
        new SessionLimitError(
          'ADDRESS_TEMP_BYTES_LIMIT',
          `Your address holds ${client.tempBytes} bytes of temporary files; ${bytes} more would exceed the ${perAddress} bytes one client address may hold; retry when its other requests finish`,
          { limit: perAddress, requestedBytes: bytes },
        ),
        record,
      );
    }
    const total = this.limits.maxTempBytesTotal;
    if (this.#tempBytesTotal + bytes > total) {
      this.#dropIfUnused(record, address);
      throw this.#reject(
        new SessionLimitError('STAGED_BYTES_LIMIT', `The server's space for uploads is in use; retry in ${STAGED_RETRY_AFTER_S} s`, { limit: total, requestedBytes: bytes, retryAfterS: STAGED_RETRY_AFTER_S }),
        record,
      );
    }
    record.tempBytes += bytes;
    if (client) client.tempBytes += bytes;
    this.#tempBytesTotal += bytes;
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

  #remove(record: SessionRecord, reason: SessionReleaseReason): void {
    this.#sessions.delete(record.id);
    record.closed = true;
    if (reason === 'expired') this.#expiredTotal += 1;
    else if (reason === 'evicted') this.#evictedTotal += 1;
    else this.#closedTotal += 1;
    if (record.address !== undefined) {
      this.#addresses.get(record.address)?.sessions.delete(record);
      this.#dropIfUnused(record, record.address);
    }
    this.#log.debug({ session: record.tag, reason, tempBytes: record.tempBytes }, 'session released');
  }

  #reject(error: SessionLimitError, record?: SessionRecord): SessionLimitError {
    this.#rejected[error.code] += 1;
    this.#log.debug({ code: error.code, session: record?.tag }, 'session request refused');
    return error;
  }
}

// The idle session seen longest ago, or undefined when every one holds something.
function leastRecentlySeenIdle(records: Iterable<SessionRecord>): SessionRecord | undefined {
  let oldest: SessionRecord | undefined;
  for (const record of records) {
    if (record.idle && (oldest === undefined || record.lastSeenAt < oldest.lastSeenAt)) oldest = record;
  }
  return oldest;
}
