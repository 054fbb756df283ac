/**
 * Property-based fuzzing of the WAV decoder (src/audio/decode-wav.ts, wav-layout.ts, wav-format.ts),
 * which parses bytes straight from an upload. A seeded mutator (no dependency) damages valid WAVs of
 * every supported encoding the way fuzzers do (bit flips, interesting values in size and format
 * fields, truncations, splices, chunks duplicated or inserted) and also feeds random bytes. For
 * every input the decoder must either
 *   - return finite samples in [-1, 1], at 16 kHz, no more of them than the input's bytes can
 *     describe (so a header claiming gigabytes allocates nothing), or
 *   - throw AudioDecodeError with a code that blames the input. AUDIO_DECODER_FAILED is what
 *     decodeWav wraps an unexpected error (a RangeError, a TypeError: a bug of ours) into, so it
 *     fails the property too.
 * and decodeWavInSlices must agree with decodeWav on the same bytes.
 *
 * Inputs that once broke a property are kept in test/audio/wav-fuzz-regressions/ and replayed first.
 * A failure prints the seed, the iteration and the input in base64: save it there as a .wav.
 * Longer runs: TALK2ME_WAV_FUZZ_ITERATIONS=200000 TALK2ME_WAV_FUZZ_SEED=7 npx vitest run test/audio/decode-wav-fuzz.test.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AudioDecodeError,
  decodeWav,
  decodeWavInSlices,
  MIN_SOURCE_SAMPLE_RATE,
  WHISPER_SAMPLE_RATE,
  type AudioDecodeErrorCode,
  type DecodedAudio,
} from '../../src/audio/index.js';
import { ascii, buildWav, concatBytes, encodeSamples, fmtFor, riff, sine, type PcmSpec } from './helpers/wav-builder.js';

const ITERATIONS = Number(process.env.TALK2ME_WAV_FUZZ_ITERATIONS ?? 30000);
const SEED = Number(process.env.TALK2ME_WAV_FUZZ_SEED ?? 0x7a1c2);
const REGRESSIONS = join(dirname(fileURLToPath(import.meta.url)), 'wav-fuzz-regressions');

/** The codes that say "this input is bad"; anything else means the decoder itself went wrong. */
const INPUT_FAULTS: ReadonlySet<AudioDecodeErrorCode> = new Set(['AUDIO_INVALID', 'AUDIO_UNSUPPORTED_FORMAT', 'AUDIO_EMPTY', 'AUDIO_TOO_LONG']);

/** xorshift32: tiny, seedable, and the same sequence on every machine. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
}

/** Valid WAVs of every encoding the decoder supports, short so thousands decode in seconds. */
function seedCorpus(): Uint8Array[] {
  const specs: Array<[PcmSpec, number]> = [
    [{ sampleRate: 16000, encoding: 'int', bitsPerSample: 16 }, 1],
    [{ sampleRate: 8000, encoding: 'int', bitsPerSample: 8 }, 2],
    [{ sampleRate: 44100, encoding: 'int', bitsPerSample: 24 }, 1],
    [{ sampleRate: 22050, encoding: 'int', bitsPerSample: 32, extensible: true }, 2],
    [{ sampleRate: 48000, encoding: 'float', bitsPerSample: 32 }, 1],
    [{ sampleRate: 16000, encoding: 'float', bitsPerSample: 64, extensible: true }, 2],
    [{ sampleRate: 11025, encoding: 'float', bitsPerSample: 64 }, 1],
  ];
  const files = specs.map(([spec, channels]) => {
    const signal = Array.from({ length: channels }, (_, c) => sine(440 * (c + 1), spec.sampleRate, 0.01, 0.8));
    return buildWav(signal, spec);
  });
  // Chunk-list shapes: metadata before and after the audio, an odd-sized chunk with its pad byte,
  // and a streaming writer's "unknown" data size.
  const s16: PcmSpec = { sampleRate: 16000, encoding: 'int', bitsPerSample: 16 };
  const audio = encodeSamples([sine(300, 16000, 0.005)], s16);
  files.push(riff([{ id: 'LIST', body: ascii('INFOISFT\x05\x00\x00\x00talk') }, fmtFor(s16, 1), { id: 'data', body: audio }, { id: 'id3 ', body: new Uint8Array(7) }]));
  files.push(riff([fmtFor(s16, 1), { id: 'data', body: audio, declaredSize: 0xffffffff }]));
  return files;
}

const INTERESTING_U32 = [0, 1, 2, 7, 8, 16, 40, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffff00, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_U16 = [0, 1, 2, 3, 8, 16, 24, 32, 64, 0x7fff, 0x8000, 0xfffe, 0xffff];
/** Bit patterns of float samples that are legal, huge, tiny or not finite. */
const INTERESTING_F64 = [1e300, -1e300, 3.4e38, 1e39, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, NaN, -0];

function mutate(rng: Random, corpus: readonly Uint8Array[]): Uint8Array {
  let bytes: Uint8Array = rng.pick(corpus).slice();
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds && bytes.length > 0; r++) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = rng.below(bytes.length);
    switch (rng.below(11)) {
      case 0: // flip one bit
        bytes[at] = (bytes[at] ?? 0) ^ (1 << rng.below(8));
        break;
      case 1: // set one byte
        bytes[at] = rng.pick([0, 1, 0x7f, 0x80, 0xfe, 0xff, rng.below(256)]);
        break;
      case 2: // a size or sample rate: RIFF size, chunk sizes and fmt fields are 32-bit at 4-byte offsets
        if (at + 4 <= bytes.length) view.setUint32(at - (at % 2), rng.pick(INTERESTING_U32), true);
        break;
      case 3: // a 16-bit format field: tag, channels, block align, bits per sample, cbSize
        if (at + 2 <= bytes.length) view.setUint16(at - (at % 2), rng.pick(INTERESTING_U16), true);
        break;
      case 4: // a float sample that is huge, tiny or not finite
        if (at + 8 <= bytes.length) {
          if (rng.below(2) === 0) view.setFloat64(at - (at % 4), rng.pick(INTERESTING_F64), true);
          else view.setFloat32(at - (at % 4), rng.pick(INTERESTING_F64), true);
        }
        break;
      case 5: // truncate
        bytes = bytes.subarray(0, rng.below(bytes.length + 1));
        break;
      case 6: // splice: this file's head, another file's tail
        {
          const other = rng.pick(corpus);
          bytes = concatBytes(bytes.subarray(0, at), other.subarray(rng.below(other.length)));
        }
        break;
      case 7: // duplicate a region (a second fmt or data chunk, a repeated header)
        {
          const length = 1 + rng.below(Math.min(64, bytes.length - at));
          bytes = concatBytes(bytes.subarray(0, at + length), bytes.subarray(at, at + length), bytes.subarray(at + length));
        }
        break;
      case 8: // insert a chunk header with a chosen id and size
        {
          const header = new Uint8Array(8);
          header.set(ascii(rng.pick(['fmt ', 'data', 'LIST', 'fact', 'JUNK', '\0\0\0\0'])));
          new DataView(header.buffer).setUint32(4, rng.pick(INTERESTING_U32), true);
          bytes = concatBytes(bytes.subarray(0, at), header, bytes.subarray(at));
        }
        break;
      case 9: // remove a run of bytes
        bytes = concatBytes(bytes.subarray(0, at), bytes.subarray(at + 1 + rng.below(16)));
        break;
      default: // overwrite a run with random bytes
        for (let i = at, end = Math.min(bytes.length, at + 1 + rng.below(16)); i < end; i++) bytes[i] = rng.below(256);
        break;
    }
  }
  return bytes;
}

function randomBytes(rng: Random): Uint8Array {
  const body = Uint8Array.from({ length: rng.below(300) }, () => rng.below(256));
  // Half of them start like a WAV so they get past the first check.
  return rng.below(2) === 0 ? body : concatBytes(ascii('RIFF'), new Uint8Array(4), ascii('WAVE'), body);
}

type Outcome = { ok: true; decoded: DecodedAudio } | { ok: false; error: unknown };

function outcomeOf(bytes: Uint8Array): Outcome {
  try {
    return { ok: true, decoded: decodeWav(bytes) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Why an outcome breaks the decoder's contract, or undefined when it keeps it. */
function violation(bytes: Uint8Array, outcome: Outcome): string | undefined {
  if (!outcome.ok) {
    const { error } = outcome;
    if (!(error instanceof AudioDecodeError)) return `threw ${String(error)} instead of AudioDecodeError`;
    if (!INPUT_FAULTS.has(error.code)) return `threw ${error.code}: ${error.message}`;
    return undefined;
  }
  const { pcm, sampleRate, source } = outcome.decoded;
  if (sampleRate !== WHISPER_SAMPLE_RATE) return `sample rate ${sampleRate}`;
  if (pcm.length === 0) return 'decoded to no samples without AUDIO_EMPTY';
  // Every frame takes at least one byte and the lowest accepted rate is upsampled 16x: more samples
  // than that were allocated from a header field, not from the bytes.
  const most = Math.ceil((bytes.length * WHISPER_SAMPLE_RATE) / MIN_SOURCE_SAMPLE_RATE);
  if (pcm.length > most) return `${pcm.length} samples from ${bytes.length} bytes`;
  if (!(source.channels >= 1) || !(source.sampleRate >= MIN_SOURCE_SAMPLE_RATE)) return `source ${JSON.stringify(source)}`;
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i] as number;
    if (!(v >= -1 && v <= 1)) return `sample ${i} is ${v}`;
  }
  return undefined;
}

function report(where: string, bytes: Uint8Array, why: string): string {
  return `${where}: ${why}\n  input (${bytes.length} bytes, base64; save it under test/audio/wav-fuzz-regressions/): ${Buffer.from(bytes).toString('base64')}`;
}

async function sameOutcomeInSlices(bytes: Uint8Array, outcome: Outcome): Promise<string | undefined> {
  let sliced: Outcome;
  try {
    sliced = { ok: true, decoded: await decodeWavInSlices(bytes) };
  } catch (error) {
    sliced = { ok: false, error };
  }
  if (outcome.ok !== sliced.ok) return `decodeWav ${outcome.ok ? 'decoded' : 'threw'} but decodeWavInSlices ${sliced.ok ? 'decoded' : 'threw'}`;
  if (outcome.ok && sliced.ok) {
    const a = outcome.decoded.pcm;
    const b = sliced.decoded.pcm;
    if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) return 'decodeWavInSlices decoded other samples than decodeWav';
  } else if (!outcome.ok && !sliced.ok) {
    const code = (e: unknown) => (e instanceof AudioDecodeError ? e.code : String(e));
    if (code(outcome.error) !== code(sliced.error)) return `decodeWav threw ${code(outcome.error)}, decodeWavInSlices ${code(sliced.error)}`;
  }
  return undefined;
}

describe('decodeWav under fuzzing', () => {
  it('keeps its contract on every input once found to break it (wav-fuzz-regressions/)', async () => {
    const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.wav'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = new Uint8Array(readFileSync(join(REGRESSIONS, file)));
      const outcome = outcomeOf(bytes);
      const why = violation(bytes, outcome) ?? (await sameOutcomeInSlices(bytes, outcome));
      expect(why, file).toBeUndefined();
    }
  });

  it(`keeps its contract on ${ITERATIONS} mutated WAVs and random byte strings (seed ${SEED})`, async () => {
    const corpus = seedCorpus();
    for (const bytes of corpus) expect(violation(bytes, outcomeOf(bytes)), 'a seed must decode').toBeUndefined();
    const rng = new Random(SEED);
    const seen = new Map<string, number>();
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = rng.below(8) === 0 ? randomBytes(rng) : mutate(rng, corpus);
      const started = performance.now();
      const outcome = outcomeOf(bytes);
      slowest = Math.max(slowest, performance.now() - started);
      const why = violation(bytes, outcome) ?? (i % 16 === 0 ? await sameOutcomeInSlices(bytes, outcome) : undefined);
      if (why !== undefined) expect.fail(report(`seed ${SEED}, iteration ${i}`, bytes, why));
      const kind = outcome.ok ? 'decoded' : (outcome.error as AudioDecodeError).code;
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
    }
    // The mutations must reach past the header checks: some inputs still decode, others fail in
    // each way the parser can refuse them. Otherwise the fuzzer would only be testing the magic number.
    for (const kind of ['decoded', 'AUDIO_INVALID', 'AUDIO_UNSUPPORTED_FORMAT', 'AUDIO_EMPTY']) {
      expect(seen.get(kind) ?? 0, `inputs that ended as ${kind}`).toBeGreaterThan(0);
    }
    // No input hangs the parser: each is a few kB, so even the slowest must be quick.
    expect(slowest).toBeLessThan(1000);
  });
});
