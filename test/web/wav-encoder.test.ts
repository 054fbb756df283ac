// The browser's WAV goes through the server's own decoder: same format, same samples.
import { describe, expect, it } from 'vitest';

import { decodeWav } from '../../src/audio/index.js';
import { encodeWavMono } from '../../web/src/wav-encoder.js';

describe('encodeWavMono', () => {
  it('writes 16 kHz 16-bit mono WAV that the server decodes natively, channels mixed to their mean', async () => {
    const left = new Float32Array(16_000).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16_000));
    const right = new Float32Array(16_000).map((_, i) => 0.25 * Math.sin((2 * Math.PI * 440 * i) / 16_000));
    const blob = encodeWavMono([left, right], 16_000);
    expect(blob.type).toBe('audio/wav');
    expect(blob.size).toBe(44 + 32_000);

    const decoded = decodeWav(new Uint8Array(await blob.arrayBuffer()));
    expect(decoded.source).toMatchObject({ format: 'wav/pcm_s16le', sampleRate: 16_000, channels: 1 });
    expect(decoded.pcm.length).toBe(16_000);
    for (const i of [0, 9, 100, 15_999]) expect(decoded.pcm[i]).toBeCloseTo(((left[i] as number) + (right[i] as number)) / 2, 4);
  });

  it('clamps samples outside [-1, 1] and writes an empty clip as a valid header', async () => {
    const bytes = new DataView(await encodeWavMono([new Float32Array([2, -2, 0])], 16_000).arrayBuffer());
    expect([bytes.getInt16(44, true), bytes.getInt16(46, true), bytes.getInt16(48, true)]).toEqual([32767, -32768, 0]);
    const empty = new DataView(await encodeWavMono([], 16_000).arrayBuffer());
    expect(empty.byteLength).toBe(44);
    expect(empty.getUint32(40, true)).toBe(0);
  });
});
