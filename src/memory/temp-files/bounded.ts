import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Runs `work` on every item with at most `concurrency` calls in flight, and returns once all have
 * settled (`work` is expected not to reject; a rejection is rethrown after the rest finished).
 * Thousands of unlinks at once would fill libuv's thread pool and starve every other file and DNS
 * call of the server; a few at a time keep it usable. Every `yieldEvery` items a worker also waits
 * for the next turn of the event loop, so callbacks that complete without real I/O (a file already
 * gone) cannot chain into one long synchronous run.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  yieldEvery = concurrency,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    let sinceYield = 0;
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
      if (++sinceYield >= yieldEvery) {
        sinceYield = 0;
        await nextTurn();
      }
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
}
