import { describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeWav, decodeWavInSlices, WHISPER_SAMPLE_RATE } from '../../src/audio/index.js';
import { buildWav, encodeSamples, fmtFor, riff, sine, type PcmSpec } from './helpers/wav-builder.js';
import { peak, rms, toneAmplitude, zeroCrossingFrequency } from './helpers/signal-analysis.js';

// A short ramp of exactly representable values, so every format can be checked sample by sample.
const RAMP = [0, 0.5, -0.5, 0.25, -1, 0.75, -0.125];

describe('decodeWav: sample formats at 16 kHz (no resampling)', () => {
  const cases: Array<{ name: string; spec: PcmSpec; format: string; tolerance: number }> = [
    { name: '8-bit unsigned PCM', spec: { sampleRate: 16000, encoding: 'int', bitsPerSample: 8 }, format: 'wav/pcm_u8', tolerance: 1 / 128 },
    { name: '16-bit PCM', spec: { sampleRate: 16000, encoding: 'int', bitsPerSample: 16 }, format: 'wav/pcm_s16le', tolerance: 1e-6 },
    { name: '24-bit PCM', spec: { sampleRate: 16000, encoding: 'int', bitsPerSample: 24 }, format: 'wav/pcm_s24le', tolerance: 1e-6 },
    { name: '32-bit PCM', spec: { sampleRate: 16000, encoding: 'int', bitsPerSample: 32 }, format: 'wav/pcm_s32le', tolerance: 1e-6 },
    { name: '32-bit float', spec: { sampleRate: 16000, encoding: 'float', bitsPerSample: 32 }, format: 'wav/float32', tolerance: 0 },
    { name: '64-bit float', spec: { sampleRate: 16000, encoding: 'float', bitsPerSample: 64 }, format: 'wav/float64', tolerance: 0 },
    {
      name: 'EXTENSIBLE 24-bit PCM',
      spec: { sampleRate: 16000, encoding: 'int', bitsPerSample: 24, extensible: true },
      format: 'wav/pcm_s24le',
      tolerance: 1e-6,
    },
    {
      name: 'EXTENSIBLE 32-bit float',
      spec: { sampleRate: 16000, encoding: 'float', bitsPerSample: 32, extensible: true },
      format: 'wav/float32',
      tolerance: 0,
    },
  ];

  for (const { name, spec, format, tolerance } of cases) {
    it(`decodes ${name} sample-exactly`, () => {
      const decoded = decodeWav(buildWav([RAMP], spec));
      expect(decoded.sampleRate).toBe(WHISPER_SAMPLE_RATE);
      expect(decoded.source).toEqual({ format, sampleRate: 16000, channels: 1, bitsPerSample: spec.bitsPerSample });
      expect(decoded.pcm).toBeInstanceOf(Float32Array);
      expect(decoded.pcm.length).toBe(RAMP.length);
      expect(decoded.durationS).toBeCloseTo(RAMP.length / 16000, 12);
      RAMP.forEach((v, i) => expect(Math.abs((decoded.pcm[i] ?? NaN) - v)).toBeLessThanOrEqual(tolerance));
    });
  }

  it('maps 8-bit unsigned bytes with 128 as silence', () => {
    const bytes = riff([fmtFor({ sampleRate: 16000, encoding: 'int', bitsPerSample: 8 }, 1), { id: 'data', body: Uint8Array.from([0, 128, 255, 64]) }]);
    expect(Array.from(decodeWav(bytes).pcm)).toEqual([-1, 0, 127 / 128, -0.5]);
  });

  it('sign-extends 24-bit samples', () => {
    const body = Uint8Array.from([0x00, 0x00, 0x80, 0xff, 0xff, 0xff, 0x00, 0x00, 0x40, 0xff, 0xff, 0x7f]);
    const bytes = riff([fmtFor({ sampleRate: 16000, encoding: 'int', bitsPerSample: 24 }, 1), { id: 'data', body }]);
    expect(Array.from(decodeWav(bytes).pcm)).toEqual([-1, -1 / 8388608, 0.5, Math.fround(8388607 / 8388608)]);
  });

  it('averages channels to mono', () => {
    const left = [0.5, 1, -1, 0.25];
    const right = [-0.25, 1, 0, 0.25];
    const decoded = decodeWav(buildWav([left, right], { sampleRate: 16000, encoding: 'float', bitsPerSample: 32 }));
    expect(Array.from(decoded.pcm)).toEqual([0.125, 1, -0.5, 0.25]);
    expect(decoded.source.channels).toBe(2);
  });

  it('averages six channels to mono', () => {
    const channels = [0.6, 0.6, 0, 0, -0.6, 0].map((v) => [v, v]);
    const decoded = decodeWav(buildWav(channels, { sampleRate: 16000, encoding: 'float', bitsPerSample: 64 }));
    expect(decoded.pcm[0]).toBeCloseTo(0.1, 6);
    expect(decoded.source.channels).toBe(6);
  });

  it('clamps float samples beyond full scale into [-1, 1]', () => {
    const decoded = decodeWav(buildWav([[1.5, -3, 0.5]], { sampleRate: 16000, encoding: 'float', bitsPerSample: 32 }));
    expect(Array.from(decoded.pcm)).toEqual([1, -1, 0.5]);
  });
});

describe('decodeWav: resampling to 16 kHz', () => {
  it('turns a 1 kHz sine at 44.1 kHz stereo into 16 kHz mono of the right length, pitch and level', () => {
    const tone = sine(1000, 44100, 1, 0.5);
    const decoded = decodeWav(buildWav([tone, tone], { sampleRate: 44100, encoding: 'int', bitsPerSample: 16 }));
    expect(decoded.pcm.length).toBe(16000);
    expect(decoded.durationS).toBe(1);
    expect(decoded.source).toMatchObject({ sampleRate: 44100, channels: 2 });
    // Skip the filter's edge transients; measure the steady state.
    expect(zeroCrossingFrequency(decoded.pcm, 16000, 1000, 15000)).toBeCloseTo(1000, 0);
    expect(rms(decoded.pcm, 1000, 15000)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(toneAmplitude(decoded.pcm, 1000, 16000, 1000, 15000)).toBeCloseTo(0.5, 2);
  });

  it('keeps output time-aligned with input (no delay introduced by the filter)', () => {
    // A sine starting at phase 0: resampled sample n must match sin at time n / 16000.
    const decoded = decodeWav(buildWav([sine(440, 48000, 0.5, 0.5)], { sampleRate: 48000, encoding: 'float', bitsPerSample: 32 }));
    for (const n of [2000, 3001, 5555]) {
      expect(decoded.pcm[n]).toBeCloseTo(0.5 * Math.sin((2 * Math.PI * 440 * n) / 16000), 3);
    }
  });

  it('removes content above 8 kHz instead of letting it alias into the speech band', () => {
    // With naive decimation a 12 kHz tone at 48 kHz lands on 4 kHz at full level.
    const decoded = decodeWav(buildWav([sine(12000, 48000, 1, 0.9)], { sampleRate: 48000, encoding: 'float', bitsPerSample: 32 }));
    expect(decoded.pcm.length).toBe(16000);
    expect(rms(decoded.pcm, 500, 15500)).toBeLessThan(1e-3);
    expect(toneAmplitude(decoded.pcm, 4000, 16000, 500, 15500)).toBeLessThan(1e-3);
  });

  it('upsamples 8 kHz telephone audio without imaging', () => {
    const decoded = decodeWav(buildWav([sine(1000, 8000, 1, 0.5)], { sampleRate: 8000, encoding: 'int', bitsPerSample: 16 }));
    expect(decoded.pcm.length).toBe(16000);
    expect(toneAmplitude(decoded.pcm, 1000, 16000, 1000, 15000)).toBeCloseTo(0.5, 2);
    // The image of a 1 kHz tone at 8 kHz sampling sits at 7 kHz.
    expect(toneAmplitude(decoded.pcm, 7000, 16000, 1000, 15000)).toBeLessThan(1e-3);
  });

  it.each([
    [22050, 8000],
    [11025, 4000],
    [32000, 11025],
    [96000, 96000],
    [44101, 1000],
    [7999, 3999],
    [1000, 1000],
    [384000, 38400],
  ])('converts %i Hz (%i frames) to ceil(frames * 16000 / rate) samples', (rate, frames) => {
    const decoded = decodeWav(buildWav([new Float64Array(frames).fill(0.25)], { sampleRate: rate, encoding: 'float', bitsPerSample: 32 }));
    expect(decoded.pcm.length).toBe(Math.ceil((frames * 16000) / rate));
    // A constant stays constant away from the edges (unity DC gain for every filter phase).
    const mid = Math.floor(decoded.pcm.length / 2);
    expect(decoded.pcm[mid]).toBeCloseTo(0.25, 5);
    expect(peak(decoded.pcm)).toBeLessThanOrEqual(1);
  });
});

describe('decodeWav: chunk layout tolerance', () => {
  const spec: PcmSpec = { sampleRate: 16000, encoding: 'int', bitsPerSample: 16 };
  const samples = encodeSamples([RAMP], spec);
  const fmt = fmtFor(spec, 1);
  const expectRamp = (bytes: Uint8Array): void => {
    const pcm = Array.from(decodeWav(bytes).pcm);
    expect(pcm).toHaveLength(RAMP.length);
    RAMP.forEach((v, i) => expect(pcm[i]).toBeCloseTo(v, 4));
  };

  it('skips unknown chunks before and after fmt, including odd-sized ones with a pad byte', () => {
    expectRamp(
      riff([
        { id: 'LIST', body: new Uint8Array(27).fill(0x41) },
        fmt,
        { id: 'fact', body: Uint8Array.from([7, 0, 0, 0]) },
        { id: 'junk', body: new Uint8Array(3).fill(0xff) },
        { id: 'data', body: samples },
        { id: 'LIST', body: new Uint8Array(9) },
      ]),
    );
  });

  it('finds a fmt chunk that comes after the data chunk', () => {
    expectRamp(riff([{ id: 'data', body: samples }, fmt]));
  });

  it('reads to end of file when the data size is the streaming sentinel 0xFFFFFFFF', () => {
    expectRamp(riff([fmt, { id: 'data', body: samples, declaredSize: 0xffffffff }], { riffSize: 0xffffffff }));
  });

  it('drops a trailing partial frame', () => {
    const partial = new Uint8Array(samples.length + 1);
    partial.set(samples);
    expectRamp(riff([fmt, { id: 'data', body: partial, omitPad: true }]));
  });

  it('ignores the RIFF size field and trailing bytes after the audio', () => {
    const bytes = riff([fmt, { id: 'data', body: samples }], { riffSize: 12 });
    const withJunk = new Uint8Array(bytes.length + 5);
    withJunk.set(bytes);
    expectRamp(withJunk);
  });

  it('keeps the audio when metadata after the data chunk is cut short', () => {
    expectRamp(riff([fmt, { id: 'data', body: samples }, { id: 'LIST', body: new Uint8Array(4), declaredSize: 4096 }]));
  });

  it('accepts audio exactly at maxDurationS', () => {
    const bytes = buildWav([new Float64Array(16000)], spec);
    expect(decodeWav(bytes, { maxDurationS: 1 }).durationS).toBe(1);
  });

  it('decodes a Uint8Array view at a non-zero, odd byte offset', () => {
    const bytes = buildWav([RAMP], spec);
    const backing = new Uint8Array(bytes.length + 3);
    backing.set(bytes, 3);
    expectRamp(backing.subarray(3));
  });
});

describe('decodeWavInSlices', () => {
  const stereo44k = (seconds: number) =>
    buildWav([sine(440, 44100, seconds, 0.5), sine(660, 44100, seconds, 0.25)], { sampleRate: 44100, encoding: 'int', bitsPerSample: 16 });

  it('gives exactly what decodeWav gives, with and without resampling', async () => {
    for (const wav of [stereo44k(3.5), buildWav([sine(300, 16000, 2.2, 0.5)], { sampleRate: 16000, encoding: 'float', bitsPerSample: 32 })]) {
      expect(await decodeWavInSlices(wav)).toEqual(decodeWav(wav));
    }
  });

  it('lets the event loop run between slices of a long file', async () => {
    const wav = stereo44k(20);
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await decodeWavInSlices(wav);
    ticking = false;
    // 20 s of mixing and 20 s of resampling, one second per slice: the loop turned between them.
    expect(turns).toBeGreaterThanOrEqual(40);
  });

  it('stops between slices when aborted, and reports bad files as decodeWav does', async () => {
    const controller = new AbortController();
    const decoding = decodeWavInSlices(stereo44k(20), { signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(decoding).rejects.toMatchObject({ code: 'ABORTED' });

    const truncated = stereo44k(1).subarray(0, 1000);
    const sync = (() => {
      try {
        decodeWav(truncated);
      } catch (err) {
        return err as AudioDecodeError;
      }
      throw new Error('decodeWav accepted a truncated file');
    })();
    await expect(decodeWavInSlices(truncated)).rejects.toMatchObject({ code: sync.code, message: sync.message });
    await expect(decodeWavInSlices(stereo44k(3), { maxDurationS: 2 })).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG' });
  });
});
