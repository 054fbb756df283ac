import { describe, expect, it } from 'vitest';

import { invalidValue } from '../../../src/shared/errors.js';
import type { Logger } from '../../../src/shared/logger.js';
import {
  DEFAULT_SESSION_LIMITS,
  newSessionId,
  SessionLimitError,
  SessionManager,
  type SessionManagerOptions,
  sessionTag,
} from '../../../src/memory/sessions/index.js';

const MINUTE = 60_000;

interface LogEntry {
  level: keyof Logger;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: keyof Logger) => (obj: object, msg?: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A manager on a fake clock that the test moves with `advance`. */
function setup(options: SessionManagerOptions = {}) {
  let time = 1_700_000_000_000;
  const log = recordingLogger();
  const sessions = new SessionManager({
    now: () => time,
    logger: log,
    ...options,
  });
  return {
    sessions,
    log,
    advance: (ms: number) => {
      time += ms;
    },
    now: () => time,
  };
}

/** Calls `call` and returns the SessionLimitError it throws, failing the test if it does not. */
function refusal(call: () => unknown): SessionLimitError {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(SessionLimitError);
    return err as SessionLimitError;
  }
  throw new Error('expected a SessionLimitError, but the call succeeded');
}

describe('session ids', () => {
  it('generates 128-bit base64url ids that the manager accepts', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSessionId()));
    expect(ids.size).toBe(1000);
    const { sessions } = setup({ maxSessions: 1000 });
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
      sessions.touch(id);
    }
    expect(sessions.stats().active).toBe(1000);
  });

  it('rejects ids that are empty, too long, outside [A-Za-z0-9_-] or not strings, without echoing them', () => {
    const { sessions } = setup();
    const bad: unknown[] = ['', 'x'.repeat(129), 'a b', 'a.b', 'abc\n{"level":"fatal"}', 'ü', 'a/../b', 42, null, undefined];
    for (const id of bad) {
      const calls = [
        () => sessions.touch(id as string),
        () => sessions.peek(id as string),
        () => sessions.beginRequest(id as string),
        () => sessions.reserveTempBytes(id as string, 1),
        () => sessions.close(id as string),
      ];
      for (const call of calls) {
        const err = refusal(call);
        expect(err.code).toBe('INVALID_SESSION_ID');
        expect(err.message).toMatch(/^Expected a session id of 1 to 128 characters from \[A-Za-z0-9_-\] but received /);
        if (typeof id === 'string' && id.length > 0) expect(err.message).not.toContain(id);
      }
    }
    expect(refusal(() => sessions.touch('x'.repeat(129))).message).toContain('a string of 129 characters');
    expect(refusal(() => sessions.touch(42 as unknown as string)).message).toContain('received number');
    expect(sessions.stats().active).toBe(0);
    expect(sessions.stats().rejectedTotal.INVALID_SESSION_ID).toBe(bad.length * 5 + 2);
    // The longest valid id and every character of the set are accepted.
    sessions.touch('x'.repeat(128));
    sessions.touch('AZaz09_-');
    expect(sessions.stats().active).toBe(2);
  });

  it('names sessions by a stable tag that does not reveal the id', () => {
    const id = newSessionId();
    expect(sessionTag(id)).toMatch(/^[0-9a-f]{16}$/);
    expect(sessionTag(id)).toBe(sessionTag(id));
    expect(sessionTag(id)).not.toBe(sessionTag(newSessionId()));
  });
});

describe('concurrent requests per session', () => {
  it('refuses a request over the limit with SESSION_CONCURRENCY_LIMIT, and frees the slot when a lease ends', () => {
    const { sessions } = setup({ maxConcurrentPerSession: 2 });
    const first = sessions.beginRequest('alice');
    const second = sessions.beginRequest('alice');
    const err = refusal(() => sessions.beginRequest('alice'));
    expect(err.code).toBe('SESSION_CONCURRENCY_LIMIT');
    expect(err.message).toBe('This session already runs 2 requests, the most one session may run at once; retry when one finishes');
    expect(err.limit).toBe(2);
    // Other sessions have their own budget.
    sessions.beginRequest('bob').end();

    first.end();
    expect(first.ended).toBe(true);
    const third = sessions.beginRequest('alice');
    expect(sessions.peek('alice')?.inflight).toBe(2);
    second.end();
    third.end();
    expect(sessions.peek('alice')?.inflight).toBe(0);
    expect(sessions.stats().rejectedTotal.SESSION_CONCURRENCY_LIMIT).toBe(1);
  });

  it('ends a lease once however often end() is called', () => {
    const { sessions } = setup({ maxConcurrentPerSession: 2 });
    const lease = sessions.beginRequest('alice');
    sessions.beginRequest('alice');
    lease.end();
    lease.end();
    lease[Symbol.dispose]();
    expect(sessions.peek('alice')?.inflight).toBe(1);
    sessions.beginRequest('alice');
    expect(refusal(() => sessions.beginRequest('alice')).code).toBe('SESSION_CONCURRENCY_LIMIT');
  });

  it('ends a lease held with `using` when its block exits, by return or by throw', () => {
    const { sessions } = setup({ maxConcurrentPerSession: 1 });
    const run = (fail: boolean) => {
      using lease = sessions.beginRequest('alice');
      expect(lease.ended).toBe(false);
      expect(sessions.peek('alice')?.inflight).toBe(1);
      if (fail) throw new Error('transcription failed');
    };
    run(false);
    expect(sessions.peek('alice')?.inflight).toBe(0);
    expect(() => run(true)).toThrow('transcription failed');
    expect(sessions.peek('alice')?.inflight).toBe(0);
  });
});

describe('temporary bytes per session', () => {
  it('refuses a reservation over the limit with SESSION_TEMP_BYTES_LIMIT, and frees the bytes on release', () => {
    const { sessions } = setup({ maxTempBytesPerSession: 1000 });
    const upload = sessions.reserveTempBytes('alice', 600);
    const err = refusal(() => sessions.reserveTempBytes('alice', 500));
    expect(err.code).toBe('SESSION_TEMP_BYTES_LIMIT');
    expect(err.message).toBe(
      'This session holds 600 bytes of temporary files; 500 more would exceed the 1000 bytes one session may hold; retry when its other requests finish',
    );
    expect(err).toMatchObject({ limit: 1000, requestedBytes: 500 });
    expect(sessions.peek('alice')?.tempBytes).toBe(600);
    sessions.reserveTempBytes('bob', 1000).release();

    upload.release();
    expect(upload).toMatchObject({ released: true, bytes: 0 });
    const whole = sessions.reserveTempBytes('alice', 1000);
    expect(sessions.peek('alice')?.tempBytes).toBe(1000);
    whole.release();
    expect(sessions.stats().rejectedTotal.SESSION_TEMP_BYTES_LIMIT).toBe(1);
  });

  it('says when one reservation alone can never fit', () => {
    const { sessions } = setup({ maxTempBytesPerSession: 1000 });
    const err = refusal(() => sessions.reserveTempBytes('alice', 1001));
    expect(err.message).toBe('1001 bytes of temporary files exceed the 1000 bytes one session may hold');
    expect(sessions.peek('alice')?.tempBytes).toBe(0);
  });

  it('grows as an upload streams in, refusing the chunk that would pass the limit and keeping what it held', () => {
    const { sessions } = setup({ maxTempBytesPerSession: 1000 });
    const other = sessions.reserveTempBytes('alice', 200);
    const upload = sessions.reserveTempBytes('alice', 0);
    for (let i = 0; i < 8; i++) upload.grow(100);
    expect(upload.bytes).toBe(800);
    const err = refusal(() => upload.grow(1));
    expect(err.code).toBe('SESSION_TEMP_BYTES_LIMIT');
    expect(upload.bytes).toBe(800);
    expect(sessions.peek('alice')?.tempBytes).toBe(1000);

    upload.shrink(300);
    expect(upload.bytes).toBe(500);
    expect(sessions.peek('alice')?.tempBytes).toBe(700);
    expect(() => upload.shrink(501)).toThrow(RangeError);
    upload.grow(300);
    expect(sessions.peek('alice')?.tempBytes).toBe(1000);
    other.release();
    upload.release();
    expect(sessions.peek('alice')?.tempBytes).toBe(0);
  });

  it('releases a reservation once however often release() is called, and refuses to grow it after', () => {
    const { sessions } = setup({ maxTempBytesPerSession: 1000 });
    const a = sessions.reserveTempBytes('alice', 400);
    const b = sessions.reserveTempBytes('alice', 400);
    a.release();
    a.release();
    a[Symbol.dispose]();
    expect(sessions.peek('alice')?.tempBytes).toBe(400);
    expect(() => a.grow(1)).toThrow('Cannot grow a released temp reservation');
    expect(sessions.peek('alice')?.tempBytes).toBe(400);
    {
      using c = sessions.reserveTempBytes('alice', 600);
      expect(c.bytes).toBe(600);
      expect(sessions.peek('alice')?.tempBytes).toBe(1000);
    }
    b.release();
    expect(sessions.peek('alice')?.tempBytes).toBe(0);
  });

  it('refuses byte counts that are negative, fractional or not numbers', () => {
    const { sessions } = setup();
    for (const bytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
      expect(() => sessions.reserveTempBytes('alice', bytes)).toThrow(RangeError);
    }
    const upload = sessions.reserveTempBytes('alice', 0);
    expect(() => upload.grow(-5)).toThrow(RangeError);
    expect(sessions.peek('alice')?.tempBytes).toBe(0);
  });
});

describe('number of sessions', () => {
  it('when full, replaces the idle session seen longest ago instead of refusing the newcomer', () => {
    const { sessions, advance } = setup({ maxSessions: 3, idleTimeoutMs: 30 * MINUTE });
    sessions.touch('a');
    advance(MINUTE);
    sessions.touch('b');
    advance(MINUTE);
    sessions.touch('c');
    advance(MINUTE);
    sessions.touch('a'); // seen again: now b is the one seen longest ago
    sessions.touch('d');
    expect(sessions.list().map((s) => s.tag)).toEqual(['a', 'c', 'd'].map(sessionTag));
    expect(sessions.stats()).toMatchObject({ active: 3, evictedTotal: 1, rejectedTotal: { SESSION_COUNT_LIMIT: 0 } });
    // The client of b comes back and simply gets a session again.
    sessions.beginRequest('b').end();
    expect(sessions.peek('b')).toBeDefined();
  });

  it('refuses with SESSION_COUNT_LIMIT and a short retry only when every session has a request in flight', () => {
    const { sessions, log } = setup({ maxSessions: 2, idleTimeoutMs: 30 * MINUTE });
    const a = sessions.beginRequest('a');
    const b = sessions.reserveTempBytes('b', 10); // holding bytes is busy too
    const err = refusal(() => sessions.touch('c'));
    expect(err.code).toBe('SESSION_COUNT_LIMIT');
    expect(err.retryAfterS).toBe(5);
    expect(err.limit).toBe(2);
    refusal(() => sessions.beginRequest('d'));
    // Existing sessions keep working while the service is full.
    sessions.beginRequest('a').end();
    // One warning per spell of being full, not one per refused client.
    expect(log.entries.filter((entry) => entry.level === 'warn')).toHaveLength(1);
    b.release();
    sessions.touch('c');
    expect(sessions.peek('b')).toBeUndefined();
    a.end();
  });

  it('caps the sessions of one address, replacing its own idle session seen longest ago, never another address\'s', () => {
    const { sessions, advance } = setup({ maxSessions: 100, maxSessionsPerAddress: 2 });
    sessions.touch('other', { address: '10.0.0.9' });
    for (const id of ['x1', 'x2', 'x3', 'x4']) {
      advance(1000);
      sessions.touch(id, { address: '10.0.0.1' });
    }
    expect(sessions.list().map((s) => s.tag)).toEqual(['other', 'x3', 'x4'].map(sessionTag));
    expect(sessions.stats()).toMatchObject({ active: 3, evictedTotal: 2, addresses: 2 });
  });

  it('evicts expired sessions, and only those, to make room', () => {
    const { sessions, advance } = setup({ maxSessions: 3, idleTimeoutMs: 30 * MINUTE });
    sessions.touch('old');
    sessions.touch('busy');
    const lease = sessions.beginRequest('busy');
    advance(20 * MINUTE);
    sessions.touch('recent');
    advance(15 * MINUTE);

    sessions.touch('new');
    expect(sessions.list().map((s) => s.tag)).toEqual(['busy', 'recent', 'new'].map(sessionTag));
    sessions.closeAll();
    expect(sessions.stats()).toMatchObject({ active: 0, expiredTotal: 1, closedTotal: 3 });
    lease.end();
  });
});

describe('provisional records (create: false)', () => {
  it('count a request without making a session until keep(); an unkept one is gone when its requests end', () => {
    const { sessions } = setup({ maxConcurrentPerSession: 1 });
    const lease = sessions.beginRequest('fresh', { create: false, address: '10.0.0.1' });
    const upload = sessions.reserveTempBytes('fresh', 100, { address: '10.0.0.1' });
    expect(sessions.peek('fresh')).toBeUndefined();
    expect(sessions.stats()).toMatchObject({ active: 0, provisional: 1, inflight: 1, tempBytes: 100, createdTotal: 0 });
    // Its limits hold like a session's.
    expect(refusal(() => sessions.beginRequest('fresh', { create: false })).code).toBe('SESSION_CONCURRENCY_LIMIT');
    upload.release();
    lease.end();
    expect(sessions.stats()).toMatchObject({ active: 0, provisional: 0, addresses: 0, inflight: 0, tempBytes: 0 });

    const kept = sessions.beginRequest('fresh', { create: false, address: '10.0.0.1' });
    expect(sessions.keep('fresh', { address: '10.0.0.1' })).toBe(true);
    expect(sessions.peek('fresh')).toMatchObject({ inflight: 1 });
    kept.end();
    expect(sessions.stats()).toMatchObject({ active: 1, provisional: 0, createdTotal: 1 });
  });

  it('keep() leaves a request on its provisional record, without refusing it, when every session is busy', () => {
    const { sessions } = setup({ maxSessions: 1 });
    const busy = sessions.beginRequest('busy');
    const lease = sessions.beginRequest('late', { create: false });
    expect(sessions.keep('late')).toBe(false);
    expect(sessions.stats()).toMatchObject({ active: 1, provisional: 1 });
    lease.end();
    busy.end();
    expect(sessions.stats()).toMatchObject({ active: 1, provisional: 0, inflight: 0 });
  });
});

describe('limits per client address', () => {
  it('caps the requests of one address however many session ids it invents', () => {
    const { sessions } = setup({ maxConcurrentPerSession: 2, maxConcurrentPerAddress: 3 });
    const leases = ['s1', 's2', 's3'].map((id) => sessions.beginRequest(id, { create: false, address: '10.0.0.1' }));
    const err = refusal(() => sessions.beginRequest('s4', { create: false, address: '10.0.0.1' }));
    expect(err.code).toBe('ADDRESS_CONCURRENCY_LIMIT');
    expect(err.limit).toBe(3);
    // Another address is not affected, and the refused id left nothing behind.
    sessions.beginRequest('s4', { create: false, address: '10.0.0.2' }).end();
    expect(sessions.stats()).toMatchObject({ provisional: 3, inflight: 3 });
    leases[0]!.end();
    sessions.beginRequest('s5', { create: false, address: '10.0.0.1' }).end();
    for (const lease of leases) lease.end();
    expect(sessions.stats()).toMatchObject({ provisional: 0, addresses: 0, inflight: 0 });
  });

  it('caps the temporary bytes of one address across its sessions', () => {
    const { sessions } = setup({ maxTempBytesPerSession: 1000, maxTempBytesPerAddress: 1500 });
    const a = sessions.reserveTempBytes('a', 800, { address: '10.0.0.1' });
    const b = sessions.reserveTempBytes('b', 0, { address: '10.0.0.1' });
    const err = refusal(() => b.grow(800));
    expect(err.code).toBe('ADDRESS_TEMP_BYTES_LIMIT');
    expect(b.bytes).toBe(0);
    b.grow(700);
    a.release();
    b.grow(300);
    expect(sessions.stats().tempBytes).toBe(1000);
    b.release();
  });

  it('caps the temporary bytes of everyone together with STAGED_BYTES_LIMIT and a retry time', () => {
    const { sessions } = setup({ maxTempBytesPerSession: 1000, maxTempBytesTotal: 1500 });
    const a = sessions.reserveTempBytes('a', 1000, { address: '10.0.0.1' });
    const err = refusal(() => sessions.reserveTempBytes('b', 600, { address: '10.0.0.2' }));
    expect(err.code).toBe('STAGED_BYTES_LIMIT');
    expect(err.retryAfterS).toBeGreaterThan(0);
    a.release();
    sessions.reserveTempBytes('b', 600, { address: '10.0.0.2' }).release();
    expect(sessions.stats()).toMatchObject({ tempBytes: 0, rejectedTotal: { STAGED_BYTES_LIMIT: 1 } });
  });
});

describe('idle expiry', () => {
  it('expires sessions idle past the timeout', () => {
    const { sessions, advance } = setup({ idleTimeoutMs: 30 * MINUTE });
    sessions.touch('alice');
    sessions.touch('bob');

    advance(30 * MINUTE - 1);
    expect(sessions.expireIdle()).toEqual({ expired: 0 });
    sessions.touch('bob');
    advance(1);
    expect(sessions.expireIdle()).toEqual({ expired: 1 });

    expect(sessions.peek('alice')).toBeUndefined();
    expect(sessions.peek('bob')).toBeDefined();
    expect(sessions.stats()).toMatchObject({ active: 1, expiredTotal: 1 });
  });

  it('never expires a session with a request in flight, and counts its idle time from the end of its last request', () => {
    const { sessions, advance } = setup({ idleTimeoutMs: 30 * MINUTE });
    const lease = sessions.beginRequest('alice');
    advance(2 * 60 * MINUTE);
    expect(sessions.expireIdle()).toEqual({ expired: 0 });
    lease.end();
    advance(30 * MINUTE - 1);
    expect(sessions.expireIdle()).toEqual({ expired: 0 });
    expect(sessions.peek('alice')).toBeDefined();
    advance(1);
    expect(sessions.expireIdle()).toEqual({ expired: 1 });
    expect(sessions.peek('alice')).toBeUndefined();
  });
});

describe('closing sessions', () => {
  it('closes a session at once, in flight or not; its old leases and reservations cannot touch a new session with the same id', () => {
    const { sessions } = setup({ maxConcurrentPerSession: 1, maxTempBytesPerSession: 1000 });
    const lease = sessions.beginRequest('alice');
    const upload = sessions.reserveTempBytes('alice', 900);
    sessions.close('alice');
    sessions.close('alice'); // unknown by now: not an error
    expect(sessions.peek('alice')).toBeUndefined();
    // Its upload is still on disk until released: it still counts against the staged bytes.
    expect(sessions.stats()).toMatchObject({ active: 0, inflight: 0, tempBytes: 900, closedTotal: 1 });

    const fresh = sessions.beginRequest('alice');
    const err = refusal(() => upload.grow(1));
    expect(err.code).toBe('SESSION_CLOSED');
    lease.end();
    upload.release();
    expect(sessions.peek('alice')).toMatchObject({ inflight: 1, tempBytes: 0 });
    sessions.reserveTempBytes('alice', 1000).release();
    fresh.end();
  });

  it('closeAll closes every session', () => {
    const { sessions } = setup();
    for (const id of ['a', 'b', 'c']) sessions.touch(id);
    sessions.closeAll();
    expect(sessions.list()).toEqual([]);
    expect(sessions.stats()).toMatchObject({ active: 0, closedTotal: 3 });
  });
});

describe('stats and list', () => {
  it('report live sessions by tag, their load, the limits and the totals', () => {
    const { sessions, advance, now } = setup({ maxSessions: 5, maxConcurrentPerSession: 3, maxTempBytesPerSession: 5000, idleTimeoutMs: MINUTE });
    const aliceId = newSessionId();
    const bobId = newSessionId();
    const createdAt = now();
    const lease = sessions.beginRequest(aliceId);
    sessions.beginRequest(aliceId);
    sessions.reserveTempBytes(aliceId, 1234);
    advance(5000);
    sessions.reserveTempBytes(bobId, 10);
    sessions.touch('gone');
    sessions.close('gone');
    refusal(() => sessions.touch(''));

    expect(sessions.stats()).toEqual({
      active: 2,
      provisional: 0,
      addresses: 0,
      inflight: 2,
      tempBytes: 1244,
      limits: { ...DEFAULT_SESSION_LIMITS, maxSessions: 5, maxConcurrentPerSession: 3, maxTempBytesPerSession: 5000, idleTimeoutMs: MINUTE },
      createdTotal: 3,
      expiredTotal: 0,
      evictedTotal: 0,
      closedTotal: 1,
      rejectedTotal: {
        INVALID_SESSION_ID: 1,
        SESSION_CONCURRENCY_LIMIT: 0,
        SESSION_TEMP_BYTES_LIMIT: 0,
        SESSION_COUNT_LIMIT: 0,
        SESSION_CLOSED: 0,
        ADDRESS_CONCURRENCY_LIMIT: 0,
        ADDRESS_TEMP_BYTES_LIMIT: 0,
        STAGED_BYTES_LIMIT: 0,
      },
    });
    const list = sessions.list();
    expect(list).toEqual([
      { tag: sessionTag(aliceId), createdAt, lastSeenAt: createdAt, inflight: 2, tempBytes: 1234 },
      { tag: sessionTag(bobId), createdAt: createdAt + 5000, lastSeenAt: createdAt + 5000, inflight: 0, tempBytes: 10 },
    ]);
    // Ids are bearer credentials: the admin view never carries them.
    const shown = JSON.stringify(list);
    expect(shown).not.toContain(aliceId);
    expect(shown).not.toContain(bobId);

    advance(1000);
    lease.end();
    expect(sessions.peek(aliceId)?.lastSeenAt).toBe(createdAt + 6000);
  });

  it('refuses limits that are not positive integers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new SessionManager({ maxSessions: bad })).toThrow(invalidValue('maxSessions', 'a positive integer', bad));
      expect(() => new SessionManager({ idleTimeoutMs: bad })).toThrow(RangeError);
    }
    expect(new SessionManager().limits).toEqual(DEFAULT_SESSION_LIMITS);
  });
});

describe('bounded memory', () => {
  it('leaves the manager empty after 10 000 sessions are used and expired', () => {
    const { sessions, advance } = setup({ maxSessions: 10_000, idleTimeoutMs: MINUTE });
    for (let i = 0; i < 10_000; i++) {
      const id = newSessionId();
      const lease = sessions.beginRequest(id);
      const upload = sessions.reserveTempBytes(id, 1000);
      upload.grow(500);
      upload.release();
      lease.end();
    }
    expect(sessions.stats()).toMatchObject({ active: 10_000, inflight: 0, tempBytes: 0 });
    advance(MINUTE);
    expect(sessions.expireIdle()).toEqual({ expired: 10_000 });
    expect(sessions.stats()).toMatchObject({ active: 0, inflight: 0, tempBytes: 0, createdTotal: 10_000, expiredTotal: 10_000 });
    expect(sessions.list()).toEqual([]);
  });

  it('stays within maxSessions while 10 000 sessions churn through eviction', () => {
    const { sessions, advance } = setup({ maxSessions: 100, idleTimeoutMs: MINUTE });
    for (let i = 0; i < 10_000; i++) {
      sessions.touch(newSessionId());
      expect(sessions.stats().active).toBeLessThanOrEqual(100);
      advance(1000);
    }
    sessions.closeAll();
    const stats = sessions.stats();
    expect(stats.expiredTotal + stats.closedTotal).toBe(10_000); // every session left, evicted or closed
    expect(stats).toMatchObject({ active: 0, createdTotal: 10_000, rejectedTotal: { SESSION_COUNT_LIMIT: 0 } });
  });
});
