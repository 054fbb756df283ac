// Drives the page the way a person does (buttons by their accessible names) and reads what the
// page says about its own memory (talk2me.memory, the console handle the page sets).
import type { Locator, Page } from 'playwright-core';

import type { MemoryStats } from '../../../web/src/memory-manager.js';

export const READY = 'Ready. Press Record to start.';

export async function pageStats(page: Page): Promise<MemoryStats> {
  return (await page.evaluate('talk2me.memory.getStats()')) as MemoryStats;
}

/** Live (not yet released) resources of each kind the page tracks. */
export async function liveTracked(page: Page): Promise<Record<'audioContexts' | 'mediaStreams' | 'mediaRecorders' | 'objectURLs', number>> {
  const s = await pageStats(page);
  return {
    audioContexts: s.audioContexts.live,
    mediaStreams: s.mediaStreams.live,
    mediaRecorders: s.mediaRecorders.live,
    objectURLs: s.objectURLs.live,
  };
}

/**
 * Polls a JavaScript expression in the page until it is truthy. page.waitForFunction would eval
 * the predicate inside the page, which the page's Content-Security-Policy forbids (no
 * 'unsafe-eval'); page.evaluate goes through the debugger protocol, which the policy does not govern.
 */
export async function waitForExpression(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const holds = await page.evaluate(expression).catch(() => false);
    if (holds) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${expression}`);
    await page.waitForTimeout(50);
  }
}

export async function startRecording(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Record' }).click();
  await page.getByRole('status').getByText('Recording… press Stop when you are done.').waitFor();
}

/** Records for `ms`, stops, and waits until clip `n` is transcribed. */
export async function recordClip(page: Page, n: number, ms: number): Promise<void> {
  await startRecording(page);
  await page.waitForTimeout(ms);
  await page.getByRole('button', { name: 'Stop' }).click();
  // Done when the status says so, or when the page shows an error instead.
  const status = `Recording ${n} transcribed.`;
  await waitForExpression(page, `document.getElementById('status').textContent === ${JSON.stringify(status)} || !document.getElementById('error').hidden`, 60_000);
  if ((await page.getByRole('status').textContent()) !== status) {
    throw new Error(`Clip ${n} was not transcribed: ${await page.getByRole('alert').textContent()}`);
  }
}

/** Plays clip `n` from its player to the end; returns the seconds played. */
export async function playClip(page: Page, n: number): Promise<number> {
  return playToEnd(page.getByLabel(`Recording ${n}`, { exact: true }));
}

/** Plays an audio element to its end; returns the seconds played. */
export async function playToEnd(player: Locator): Promise<number> {
  return (await player.evaluate(
    (element) =>
      new Promise<number>((resolve, reject) => {
        const audio = element as unknown as {
          play(): Promise<void>;
          currentTime: number;
          error: { message: string } | null;
          addEventListener(type: string, fn: () => void, options: { once: boolean }): void;
        };
        audio.addEventListener('ended', () => resolve(audio.currentTime), { once: true });
        audio.addEventListener('error', () => reject(new Error(audio.error?.message ?? 'playback failed')), { once: true });
        audio.play().catch(reject);
      }),
  )) as number;
}
