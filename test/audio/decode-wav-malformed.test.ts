import { describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeWav, type AudioDecodeErrorCode } from '../../src/audio/index.js';
import { ascii, buildWav, concatBytes, encodeSamples, fmtChunk, fmtFor, riff, type FmtFields, type PcmSpec } from './helpers/wav-builder.js';

const S16: PcmSpec = { sampleRate: 16000, encoding: 'int', bitsPerSample: 16 };
const PCM16_MONO: FmtFields = { formatTag: 1, channels: 1, sampleRate: 16000, bitsPerSample: 16 };
const SOME_AUDIO = encodeSamples([[0.1, 0.2, 0.3, 0.4]], S16);
const data = (body: Uint8Array = SOME_AUDIO, declaredSize?: number) =>
  declaredSize === undefined ? { id: 'data', body } : { id: 'data', body, declaredSize };
const withFmt = (fields: Partial<FmtFields>) => riff([fmtChunk({ ...PCM16_MONO, ...fields }), data()]);

function floatWav(bits: 32 | 64, values: number[]): Uint8Array {
  return buildWav([values], { sampleRate: 16000, encoding: 'float', bitsPerSample: bits });
}

function expectDecodeError(bytes: Uint8Array, code: AudioDecodeErrorCode, message: RegExp, maxDurationS?: number): void {
  let thrown: unknown;
  try {
    decodeWav(bytes, maxDurationS === undefined ? {} : { maxDurationS });
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'decodeWav should have thrown').toBeInstanceOf(AudioDecodeError);
  const error = thrown as AudioDecodeError;
  expect({ code: error.code, message: error.message }).toEqual({ code, message: expect.stringMatching(message) });
}

interface Case {
  name: string;
  bytes: Uint8Array;
  code: AudioDecodeErrorCode;
  message: RegExp;
  maxDurationS?: number;
}

const cases: Case[] = [
  { name: 'empty buffer', bytes: new Uint8Array(0), code: 'AUDIO_INVALID', message: /^Invalid WAV: file is 0 bytes, too short/ },
  { name: 'shorter than a RIFF header', bytes: ascii('RIFF\0\0'), code: 'AUDIO_INVALID', message: /file is 6 bytes, too short/ },
  { name: 'not RIFF (an Ogg page)', bytes: concatBytes(ascii('OggS'), new Uint8Array(60)), code: 'AUDIO_INVALID', message: /not a RIFF file \(starts with 'OggS'/ },
  { name: 'big-endian RIFX', bytes: riff([fmtChunk(PCM16_MONO), data()], { magic: 'RIFX' }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /'RIFX'/ },
  { name: 'RIFF but not WAVE', bytes: riff([data()], { form: 'AVI ' }), code: 'AUDIO_INVALID', message: /form type is 'AVI ', not 'WAVE'/ },
  { name: 'missing fmt chunk', bytes: riff([{ id: 'LIST', body: new Uint8Array(4) }, data()]), code: 'AUDIO_INVALID', message: /no 'fmt ' chunk/ },
  { name: 'missing data chunk', bytes: riff([fmtChunk(PCM16_MONO), { id: 'LIST', body: new Uint8Array(4) }]), code: 'AUDIO_INVALID', message: /no 'data' chunk/ },
  { name: 'fmt chunk too short', bytes: riff([fmtChunk({ ...PCM16_MONO, truncateTo: 14 }), data()]), code: 'AUDIO_INVALID', message: /fmt chunk is 14 bytes; it needs at least 16/ },
  { name: 'zero channels', bytes: withFmt({ channels: 0, blockAlign: 0 }), code: 'AUDIO_INVALID', message: /0 channels/ },
  { name: 'zero sample rate', bytes: withFmt({ sampleRate: 0 }), code: 'AUDIO_INVALID', message: /sample rate of 0 Hz/ },
  { name: 'absurd sample rate', bytes: withFmt({ sampleRate: 0xffffffff }), code: 'AUDIO_INVALID', message: /sample rate 4294967295 Hz is outside the supported range 1000\.\.384000 Hz/ },
  { name: 'sub-audio sample rate', bytes: withFmt({ sampleRate: 300 }), code: 'AUDIO_INVALID', message: /sample rate 300 Hz is outside/ },
  { name: 'zero bits per sample', bytes: withFmt({ bitsPerSample: 0, blockAlign: 2 }), code: 'AUDIO_INVALID', message: /0 bits per sample/ },
  {
    name: 'block align inconsistent with channels x bits',
    bytes: riff([fmtChunk({ ...PCM16_MONO, channels: 2, blockAlign: 2 }), data()]),
    code: 'AUDIO_INVALID',
    message: /block align is 2 bytes but 2 channel\(s\) x 16 bits needs 4/,
  },
  { name: 'mu-law', bytes: withFmt({ formatTag: 7, bitsPerSample: 8 }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /mu-law \(format tag 0x0007\)/ },
  { name: 'A-law', bytes: withFmt({ formatTag: 6, bitsPerSample: 8 }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /A-law \(format tag 0x0006\)/ },
  { name: 'IMA ADPCM', bytes: withFmt({ formatTag: 0x11, bitsPerSample: 4, blockAlign: 256 }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /IMA ADPCM/ },
  { name: 'unknown format tag', bytes: withFmt({ formatTag: 0x1234 }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /format tag 0x1234/ },
  {
    name: 'EXTENSIBLE wrapping mu-law',
    bytes: withFmt({ formatTag: 0xfffe, subFormatTag: 7, bitsPerSample: 8 }),
    code: 'AUDIO_UNSUPPORTED_FORMAT',
    message: /mu-law \(format tag 0x0007\) inside WAVE_FORMAT_EXTENSIBLE/,
  },
  {
    name: 'EXTENSIBLE with a non-standard GUID',
    bytes: withFmt({ formatTag: 0xfffe, subFormatGuid: new Uint8Array(16).fill(0x01) }),
    code: 'AUDIO_UNSUPPORTED_FORMAT',
    message: /non-standard sub-format GUID/,
  },
  {
    name: 'EXTENSIBLE fmt without its extension',
    bytes: withFmt({ formatTag: 0xfffe, truncateTo: 18 }),
    code: 'AUDIO_INVALID',
    message: /WAVE_FORMAT_EXTENSIBLE fmt chunk is 18 bytes; it needs at least 40/,
  },
  { name: '12-bit integer PCM', bytes: withFmt({ bitsPerSample: 12, blockAlign: 2 }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /12-bit integer PCM/ },
  { name: '16-bit float', bytes: withFmt({ formatTag: 3, bitsPerSample: 16 }), code: 'AUDIO_UNSUPPORTED_FORMAT', message: /16-bit IEEE float/ },
  {
    name: 'data chunk larger than the file (not a streaming sentinel)',
    bytes: riff([fmtChunk(PCM16_MONO), data(new Uint8Array(512), 1_000_000)]),
    code: 'AUDIO_INVALID',
    message: /^Invalid WAV: data chunk claims 1000000 bytes but only 512 remain/,
  },
  {
    name: 'data chunk claiming 0xFFFFFFFE bytes (one off the sentinel)',
    bytes: riff([fmtChunk(PCM16_MONO), data(SOME_AUDIO, 0xfffffffe)]),
    code: 'AUDIO_INVALID',
    message: /data chunk claims 4294967294 bytes but only 8 remain/,
  },
  {
    name: 'metadata chunk overrunning the file before any audio',
    bytes: riff([fmtChunk(PCM16_MONO), { id: 'LIST', body: new Uint8Array(10), declaredSize: 5000 }, data()]),
    code: 'AUDIO_INVALID',
    message: /'LIST' chunk at byte 36 claims 5000 bytes but only \d+ remain/,
  },
  {
    name: 'file cut inside a chunk header',
    bytes: concatBytes(riff([fmtChunk(PCM16_MONO)]), ascii('dat')),
    code: 'AUDIO_INVALID',
    message: /ends mid-chunk-header.*truncated/,
  },
  { name: 'empty data chunk', bytes: riff([fmtChunk(PCM16_MONO), data(new Uint8Array(0))]), code: 'AUDIO_EMPTY', message: /no audio.*0 byte/ },
  {
    name: 'data smaller than one frame',
    bytes: riff([fmtChunk({ ...PCM16_MONO, channels: 2 }), data(new Uint8Array(3))]),
    code: 'AUDIO_EMPTY',
    message: /3 byte\(s\), less than one 4-byte frame/,
  },
  { name: 'NaN in float32 data', bytes: floatWav(32, [0, 0.5, NaN, 0]), code: 'AUDIO_INVALID', message: /frame 2, channel 0 is NaN; float samples must be finite/ },
  { name: 'Infinity in float64 data', bytes: floatWav(64, [0, -Infinity]), code: 'AUDIO_INVALID', message: /frame 1, channel 0 is -Infinity/ },
  {
    name: 'longer than maxDurationS',
    bytes: buildWav([new Float64Array(32001)], S16),
    maxDurationS: 2,
    code: 'AUDIO_TOO_LONG',
    message: /Audio is 2\.0 s long; the limit is 2 s/,
  },
];

describe('decodeWav rejects malformed input with a specific code and reason', () => {
  it('has a broad set of cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, () => expectDecodeError(c.bytes, c.code, c.message, c.maxDurationS));
  }

  it('rejects an invalid maxDurationS as a decode error', () => {
    expectDecodeError(buildWav([[0]], S16), 'AUDIO_INVALID', /maxDurationS must be a positive finite number/, -1);
  });
});

describe('decodeWav on hostile input', () => {
  const valid = riff([
    { id: 'LIST', body: new Uint8Array(13).fill(0x20) },
    fmtFor({ sampleRate: 22050, encoding: 'int', bitsPerSample: 24, extensible: true }, 2),
    { id: 'data', body: encodeSamples([[0.1, -0.2, 0.3, 0.4, 0.5], [0, 0, 0, 0, 0]], { sampleRate: 22050, encoding: 'int', bitsPerSample: 24 }) },
  ]);

  // Deterministic PRNG so a failure is reproducible.
  function* random(seed: number): Generator<number> {
    let s = seed >>> 0;
    for (;;) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      yield s;
    }
  }

  function expectOnlyDecodeErrors(bytes: Uint8Array): void {
    try {
      const decoded = decodeWav(bytes);
      // Anything that decodes must still honour the output contract.
      expect(decoded.pcm.every((v) => v >= -1 && v <= 1)).toBe(true);
      expect(decoded.pcm.length).toBeLessThan(bytes.length * 400);
    } catch (error) {
      if (!(error instanceof AudioDecodeError)) throw error;
      expect(error.message.length).toBeGreaterThan(10);
    }
  }

  it('throws only AudioDecodeError for every truncation of a valid file', () => {
    for (let length = 0; length < valid.length; length++) expectOnlyDecodeErrors(valid.subarray(0, length));
  });

  it('throws only AudioDecodeError for thousands of random byte corruptions, and never hangs', () => {
    const rng = random(12345);
    const next = (): number => rng.next().value as number;
    const started = Date.now();
    for (let round = 0; round < 3000; round++) {
      const bytes = valid.slice();
      const edits = 1 + (next() % 4);
      for (let e = 0; e < edits; e++) bytes[next() % bytes.length] = next() & 0xff;
      expectOnlyDecodeErrors(bytes);
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('does not allocate from a lying header: a tiny file claiming huge sizes is rejected instantly', () => {
    const started = performance.now();
    const lying = riff([fmtChunk({ ...PCM16_MONO, channels: 8, blockAlign: 16 }), data(new Uint8Array(16), 0x7ffffffe)]);
    expectDecodeError(lying, 'AUDIO_INVALID', /data chunk claims 2147483646 bytes but only 16 remain/);
    expect(performance.now() - started).toBeLessThan(50);
    // The streaming sentinel runs to end of file, so the output is sized by the bytes present.
    const streaming = riff([fmtChunk(PCM16_MONO), data(SOME_AUDIO, 0xffffffff)]);
    expect(decodeWav(streaming).pcm.length).toBe(4);
  });
});
