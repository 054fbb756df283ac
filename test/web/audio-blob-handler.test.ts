// AudioBlobHandler with Node's real Blob and object URLs.
import { resolveObjectURL } from 'node:buffer';

import { afterEach, describe, expect, it } from 'vitest';

import { AudioBlobHandler } from '../../web/src/audio-blob-handler.js';
import { MemoryManager } from '../../web/src/memory-manager.js';

const memory = new MemoryManager({ log: () => undefined });
afterEach(() => memory.releaseAll());

describe('AudioBlobHandler', () => {
  it('hands out one tracked object URL that resolves to the clip', async () => {
    const blob = new Blob(['some audio'], { type: 'audio/webm' });
    const clip = new AudioBlobHandler(blob, memory);
    const url = clip.getObjectURL();
    expect(clip.getObjectURL()).toBe(url);
    expect(memory.getStats().objectURLs.live).toBe(1);
    expect(await resolveObjectURL(url)?.text()).toBe('some audio');
    expect([clip.size, clip.type]).toEqual([10, 'audio/webm']);
  });

  it('creates no URL until asked', () => {
    const clip = new AudioBlobHandler(new Blob(['x']), memory);
    expect(memory.getStats().objectURLs.live).toBe(0);
    clip.cleanup();
    expect(clip.cleanedUp).toBe(true);
  });

  it('cleanup() revokes the URL and drops the Blob; twice is fine', () => {
    const clip = new AudioBlobHandler(new Blob(['x']), memory);
    const url = clip.getObjectURL();
    clip.cleanup();
    expect(resolveObjectURL(url)).toBeUndefined();
    expect(clip.blob).toBeNull();
    expect(memory.getStats().objectURLs.live).toBe(0);
    expect(() => clip.cleanup()).not.toThrow();
    expect(() => clip.getObjectURL()).toThrow(/cleaned up/);
  });

  it('a URL revoked by the page being hidden stays revoked after cleanup()', () => {
    const clip = new AudioBlobHandler(new Blob(['x']), memory);
    const url = clip.getObjectURL();
    memory.releaseAll('pagehide');
    expect(resolveObjectURL(url)).toBeUndefined();
    clip.cleanup();
    expect(memory.getStats().objectURLs.live).toBe(0);
  });
});
