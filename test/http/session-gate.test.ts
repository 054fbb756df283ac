// The session's waiting line without a server: who gets a slot when one frees. Found by a
// `talk2me soak` run that wedged: a waiter woken for a free slot and refused by its address's own
// limit kept the wake-up, and everyone behind it waited for good.
import { describe, expect, it } from 'vitest';

import { SessionGate } from '../../src/http/session-gate.js';
import { SessionManager, type RequestLease } from '../../src/memory/sessions/index.js';

const never = new AbortController().signal;
const settledWithin = <T>(promise: Promise<T>, ms: number): Promise<'settled' | 'pending'> =>
  Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe('SessionGate', () => {
  it('hands a freed slot to the next in line when the waiter it woke is refused by its address limit', async () => {
    const sessions = new SessionManager({ maxConcurrentPerSession: 1, maxConcurrentPerAddress: 2 });
    const gate = new SessionGate(sessions, 8);
    const address = { address: '192.0.2.7' };
    const first = await gate.begin('s1', address, never); // s1's one slot
    const other = await gate.begin('s2', address, never); // the address's second
    const waiter1 = gate.begin('s1', address, never);
    const waiter2 = gate.begin('s1', address, never);
    expect(gate.waiting).toBe(2);

    first.end(); // wakes waiter1 for s1's slot...
    const third = await gate.begin('s3', address, never); // ...but the address's slot goes to s3 first
    await expect(waiter1).rejects.toMatchObject({ code: 'ADDRESS_CONCURRENCY_LIMIT' });

    // waiter2 is not left waiting for an s1 request that does not exist: it gets its turn now
    // (and the same refusal, as the address is still full) ...
    expect(await settledWithin(waiter2, 1000)).toBe('settled');
    await expect(waiter2).rejects.toMatchObject({ code: 'ADDRESS_CONCURRENCY_LIMIT' });
    expect(gate.waiting).toBe(0);

    // ... and once the address has room, s1 serves its next request at once.
    other.end();
    const next = gate.begin('s1', address, never);
    expect(await settledWithin(next, 1000)).toBe('settled');
    const lease: RequestLease = await next;
    expect(sessions.stats().inflight).toBe(2);
    lease.end();
    third.end();
    expect(sessions.stats().inflight).toBe(0);
  });
});
