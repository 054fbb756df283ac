// The admission queue's policy, driven by hand: slots, the bounded queue, and how threads are
// granted (fixed, or the cores shared among the transcriptions that start together).
import { describe, expect, it } from 'vitest';

import { AdmissionQueue } from '../../src/http/admission-queue.js';
import { HttpError } from '../../src/http/errors.js';

/** A transcription held open until the test finishes it; `threads` once it has started. */
interface Held {
  threads: number | undefined;
  finish(): void;
  done: Promise<unknown>;
}

function hold(queue: AdmissionQueue, signal?: AbortSignal): Held {
  let finish!: () => void;
  const released = new Promise<void>((resolve) => (finish = resolve));
  const held: Held = { threads: undefined, finish: () => finish(), done: Promise.resolve() };
  held.done = queue
    .run(async ({ threads }) => {
      held.threads = threads;
      await released;
    }, signal)
    .catch((err: unknown) => err);
  return held;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('AdmissionQueue with the cores shared', () => {
  it('gives a lone transcription every core', async () => {
    const queue = new AdmissionQueue({ concurrency: 2, maxQueue: 4, threadBudget: 2 });
    const alone = hold(queue);
    await settle();
    expect(alone.threads).toBe(2);
    alone.finish();
    await alone.done;
    const next = hold(queue);
    await settle();
    expect(next.threads).toBe(2);
    next.finish();
    await next.done;
  });

  it('lets none start while no thread is free, then splits the freed cores among those waiting', async () => {
    const queue = new AdmissionQueue({ concurrency: 2, maxQueue: 4, threadBudget: 2 });
    const first = hold(queue);
    await settle();
    const waiting = [hold(queue), hold(queue), hold(queue)];
    await settle();
    // A state is free, but every core is busy: they wait.
    expect(queue).toMatchObject({ running: 1, queued: 3 });
    expect(waiting.map((w) => w.threads)).toEqual([undefined, undefined, undefined]);

    first.finish();
    await first.done;
    await settle();
    expect(queue).toMatchObject({ running: 2, queued: 1 });
    expect(waiting.map((w) => w.threads)).toEqual([1, 1, undefined]);

    // One thread comes free: the last one starts with it.
    waiting[0]!.finish();
    await waiting[0]!.done;
    await settle();
    expect(waiting[2]!.threads).toBe(1);
    for (const w of waiting.slice(1)) w.finish();
    await Promise.all(waiting.map((w) => w.done));
    expect(queue).toMatchObject({ running: 0, queued: 0 });
  });

  it('leaves announced transcriptions a share, as far as there are slots for them', async () => {
    const queue = new AdmissionQueue({ concurrency: 2, maxQueue: 4, threadBudget: 2 });
    // One on its way (its audio decoding): a lone one starting now takes half the cores.
    const coming = queue.announce();
    expect(queue.announced).toBe(1);
    const first = hold(queue);
    await settle();
    expect(first.threads).toBe(1);
    // It arrives: the announcement ends (twice is once), and it starts on the other core.
    coming[Symbol.dispose]();
    coming[Symbol.dispose]();
    expect(queue.announced).toBe(0);
    const second = hold(queue);
    await settle();
    expect(second.threads).toBe(1);
    first.finish();
    second.finish();
    await Promise.all([first.done, second.done]);

    // More announced than there are slots: one slot left to share with, not three.
    const many = [queue.announce(), queue.announce(), queue.announce()];
    const third = hold(queue);
    await settle();
    expect(third.threads).toBe(1);
    third.finish();
    await third.done;
    for (const a of many) a[Symbol.dispose]();
    // None announced: a lone one has every core again.
    const alone = hold(queue);
    await settle();
    expect(alone.threads).toBe(2);
    alone.finish();
    await alone.done;
  });

  it('shares an uneven budget without going over it', async () => {
    const queue = new AdmissionQueue({ concurrency: 4, maxQueue: 8, threadBudget: 7 });
    const first = hold(queue);
    await settle();
    expect(first.threads).toBe(7);
    const waiting = Array.from({ length: 3 }, () => hold(queue));
    first.finish();
    await first.done;
    await settle();
    const granted = waiting.map((w) => w.threads as number);
    expect(granted.sort()).toEqual([2, 2, 3]);
    for (const w of waiting) w.finish();
    await Promise.all(waiting.map((w) => w.done));
  });
});

describe('AdmissionQueue with fixed threads', () => {
  it('runs up to `concurrency` at once with the threads it was given, queues the rest, refuses beyond', async () => {
    const queue = new AdmissionQueue({ concurrency: 2, maxQueue: 1, threadsPerTranscription: 3 });
    const running = [hold(queue), hold(queue)];
    const queued = hold(queue);
    const refused = hold(queue);
    await settle();
    expect(running.map((r) => r.threads)).toEqual([3, 3]);
    expect(queue).toMatchObject({ running: 2, queued: 1 });
    const err = (await refused.done) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ statusCode: 503, code: 'QUEUE_FULL', headers: { 'retry-after': '2' } });

    running[0]!.finish();
    await running[0]!.done;
    await settle();
    expect(queued.threads).toBe(3);
    running[1]!.finish();
    queued.finish();
    await Promise.all([running[1]!.done, queued.done]);
  });

  it('drops a waiter whose client went away, and frees nothing it never held', async () => {
    const queue = new AdmissionQueue({ concurrency: 1, maxQueue: 2, threadsPerTranscription: 1 });
    const first = hold(queue);
    const gone = new AbortController();
    const leaving = hold(queue, gone.signal);
    const staying = hold(queue);
    await settle();
    gone.abort();
    expect(await leaving.done).toMatchObject({ statusCode: 499, code: 'CLIENT_CLOSED' });
    expect(queue.queued).toBe(1);
    first.finish();
    await first.done;
    await settle();
    expect(staying.threads).toBe(1);
    expect(queue).toMatchObject({ running: 1, queued: 0 });
    staying.finish();
    await staying.done;
  });
});
