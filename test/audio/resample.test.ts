import { describe, expect, it } from 'vitest';
import { resample, resampledLength, resampleJob } from '../../src/audio/index.js';
import { sine } from './helpers/wav-builder.js';
import { toneAmplitude } from './helpers/signal-analysis.js';

const f32 = (x: ArrayLike<number>): Float32Array => Float32Array.from(x);

/** Gain (in dB) a tone at `frequency` gets, measured where it lands after resampling to 16 kHz. */
function gainDb(fromRate: number, frequency: number): number {
  const out = resample(f32(sine(frequency, fromRate, 0.5, 0.5)), fromRate, 16000);
  const landsAt = frequency <= 8000 ? frequency : 16000 - (frequency % 16000);
  return 20 * Math.log10(toneAmplitude(out, landsAt, 16000, 800, out.length - 800) / 0.5 + 1e-12);
}

describe('resample', () => {
  it('returns a copy when the rates are equal', () => {
    const input = f32([0.1, 0.2, 0.3]);
    const out = resample(input, 16000, 16000);
    expect(Array.from(out)).toEqual(Array.from(input));
    expect(out).not.toBe(input);
  });

  it('computes ceil(n * to / from) output samples', () => {
    expect(resampledLength(44100, 44100, 16000)).toBe(16000);
    expect(resampledLength(1, 48000, 16000)).toBe(1);
    expect(resampledLength(4, 48000, 16000)).toBe(2);
    expect(resampledLength(3, 8000, 16000)).toBe(6);
    expect(resample(new Float32Array(0), 44100, 16000)).toHaveLength(0);
    expect(resample(new Float32Array(1001), 44100, 16000)).toHaveLength(Math.ceil((1001 * 160) / 441));
  });

  it('keeps the passband flat below 6 kHz and rejects would-be aliases above 8.5 kHz (48 kHz and 44.1 kHz sources)', () => {
    for (const rate of [48000, 44100]) {
      for (const f of [300, 1000, 3000, 6000]) expect(Math.abs(gainDb(rate, f)), `${f} Hz at ${rate}`).toBeLessThan(0.1);
      for (const f of [9000, 11000, 15000, 20000]) expect(gainDb(rate, f), `${f} Hz at ${rate}`).toBeLessThan(-80);
    }
  });

  it('interpolates exactly through the original samples when upsampling by an integer factor', () => {
    const input = f32(sine(500, 8000, 0.25, 0.7));
    const out = resample(input, 8000, 16000);
    // Even output samples coincide with input instants; interior ones must reproduce the input.
    for (let i = 100; i < input.length - 100; i += 37) expect(out[2 * i]).toBeCloseTo(input[i] ?? NaN, 4);
  });

  it('handles rates with no small common factor (phase quantisation path)', () => {
    const out = resample(f32(sine(1000, 44123, 0.5, 0.5)), 44123, 16000);
    expect(out).toHaveLength(resampledLength(Math.round(44123 * 0.5), 44123, 16000));
    expect(toneAmplitude(out, 1000, 16000, 800, out.length - 800)).toBeCloseTo(0.5, 3);
  });

  it('gives the same samples filled slice by slice, in any order, as in one go', () => {
    for (const fromRate of [44100, 48000, 22050, 8000, 11025]) {
      const input = f32(sine(440, fromRate, 2.3, 0.5));
      const whole = resample(input, fromRate, 16000);
      const job = resampleJob(input, fromRate, 16000);
      const slice = 1999;
      const starts = Array.from({ length: Math.ceil(whole.length / slice) }, (_, i) => i * slice).reverse();
      for (const start of starts) job.fill(start, Math.min(whole.length, start + slice));
      expect(job.output).toEqual(whole);
    }
  });

  it('rejects non-integer or non-positive rates', () => {
    expect(() => resample(new Float32Array(4), 0, 16000)).toThrow(RangeError);
    expect(() => resample(new Float32Array(4), 44100.5, 16000)).toThrow(/fromRate must be a positive integer/);
    expect(() => resample(new Float32Array(4), 44100, -1)).toThrow(/toRate must be a positive integer/);
  });
});
