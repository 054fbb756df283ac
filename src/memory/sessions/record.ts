import { sessionTag } from './id.js';

/** A snapshot of one session, safe to show an admin: it names the session by tag, never by id. */
export interface SessionInfo {
  /** See sessionTag(): a non-reversible name for logs and the admin endpoint. */
  tag: string;
  createdAt: number;
  lastSeenAt: number;
  inflight: number;
  tempBytes: number;
}

/**
 * The manager's state for one session. Leases and reservations hold the record, not the id, so
 * once a session is closed they keep touching this detached record and never a new session that
 * happens to reuse the id.
 */
export class SessionRecord {
  readonly id: string;
  readonly tag: string;
  readonly createdAt: number;
  lastSeenAt: number;
  inflight = 0;
  tempBytes = 0;
  /** Set when the session left the manager (closed, expired, evicted); nothing may grow it after. */
  closed = false;
  /** The client address of the request that made it, whose per-address cap it counts against. */
  readonly address: string | undefined;

  constructor(id: string, now: number, address?: string) {
    this.id = id;
    this.address = address;
    this.tag = sessionTag(id);
    this.createdAt = now;
    this.lastSeenAt = now;
  }

  /** Holding nothing: it can be dropped without anyone noticing but the admin's list. */
  get idle(): boolean {
    return this.inflight === 0 && this.tempBytes === 0;
  }

  /** Idle long enough and running nothing: what expiry means by "expired". */
  isExpired(now: number, idleTimeoutMs: number): boolean {
    return this.inflight === 0 && now - this.lastSeenAt >= idleTimeoutMs;
  }

  info(): SessionInfo {
    return {
      tag: this.tag,
      createdAt: this.createdAt,
      lastSeenAt: this.lastSeenAt,
      inflight: this.inflight,
      tempBytes: this.tempBytes,
    };
  }
}
