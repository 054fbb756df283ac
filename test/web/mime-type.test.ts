import { describe, expect, it } from 'vitest';

import { extensionFor, pickMimeType } from '../../web/src/mime-type.js';

describe('pickMimeType', () => {
  it('prefers Opus in WebM, then Ogg, then MP4', () => {
    expect(pickMimeType(() => true)).toBe('audio/webm;codecs=opus');
    expect(pickMimeType((t) => t.startsWith('audio/ogg'))).toBe('audio/ogg;codecs=opus');
    expect(pickMimeType((t) => t === 'audio/mp4')).toBe('audio/mp4');
  });

  it("answers '' (the browser's choice) when nothing is supported, and survives a checker that throws", () => {
    expect(pickMimeType(() => false)).toBe('');
    expect(
      pickMimeType((t) => {
        if (t.includes('codecs')) throw new Error('bad parameter');
        return t === 'audio/webm';
      }),
    ).toBe('audio/webm');
  });
});

describe('extensionFor', () => {
  it.each([
    ['audio/webm;codecs=opus', 'webm'],
    ['audio/ogg; codecs=opus', 'ogg'],
    ['audio/mp4', 'm4a'],
    ['audio/wav', 'wav'],
    ['AUDIO/X-WAV', 'wav'],
    ['', 'webm'],
  ])('%s → %s', (type, ext) => expect(extensionFor(type)).toBe(ext));
});
