/**
 * Writer for synthetic Whisper models in whisper.cpp's legacy ggml file format.
 *
 * No trained weights can be fetched where this project is built and tested, so tests and benchmarks
 * generate a model with the real layout and deterministic pseudo-random weights instead. At real
 * dimensions such a model costs exactly what a trained one costs to load and run; it just knows no
 * speech.
 *
 * File layout (all integers little-endian), as read by whisper.cpp's `whisper_model_load`:
 *
 *   u32 magic 0x67676d6c ("ggml")
 *   11 x i32 hparams: n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
 *                     n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
 *   i32 n_mel, i32 n_fft, n_mel * n_fft f32 mel filters (row-major, one row per mel band)
 *   i32 token count, then per token: u32 byte length + the bytes
 *   tensors until end of file, each: i32 n_dims, i32 name length, i32 type (0 f32, 1 f16),
 *                     n_dims x i32 extents (ggml order: ne[0] first), the name bytes, the data
 *
 * Vocabulary: like the files converted from OpenAI's checkpoints, the file holds 50257 tokens (the
 * GPT-2 byte-level text tokens 0..50255 plus id 50256) and whisper.cpp appends the special tokens
 * (sot, language, task, timestamp tokens ... up to n_vocab) itself ("adding 1607 extra tokens" for
 * an English-only model). The loader derives the special token ids from n_vocab alone, so writing
 * them would add nothing. The vocabulary depends only on n_vocab, never on the seed, so offsets in
 * a file can be computed from its dims (see `syntheticModelLayout`).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { invalidValue } from '../shared/errors.js';
import { HPARAM_ORDER, resolveModelDims, type ModelDims, type ModelDimsName } from './dims.js';
import { speechlikeDecoder, type RowEdit, type SpeechlikeDecoder, type SpeechlikeScript } from './speechlike.js';

export type { SpeechlikeScript } from './speechlike.js';

export type { ModelDims, ModelDimsName } from './dims.js';

/** "ggml", read as a little-endian u32. */
export const GGML_FILE_MAGIC = 0x67676d6c;
/** ggml tensor type ids used by this format. */
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;
/** Frequency bins of whisper's 400-point FFT (bin 0 to Nyquist). */
export const WHISPER_N_FFT_BINS = 201;
/** Text tokens stored in the file's vocabulary section (ids 0..50256); see the module comment. */
export const FILE_VOCAB_TOKENS = 50257;
/** Smallest n_vocab for which whisper.cpp's fixed special-token ids are valid (English-only). */
export const MIN_N_VOCAB = 51864;
/** Largest n_vocab whisper.cpp can name language tokens for (large-v3: 100 languages). */
export const MAX_N_VOCAB = 51866;

const DEFAULT_SEED = 0x5eed;
const SAMPLE_RATE = 16000;
const FFT_SIZE = 400;

export interface SyntheticModelOptions {
  /** Preset name or explicit dimensions (default `tiny`). */
  dims?: ModelDimsName | ModelDims;
  /** Seed for the weights (uint32; default 0x5eed). The same seed and dims give identical bytes. */
  seed?: number;
  /**
   * What the decoder does (default `encoder-bound`):
   *   - `encoder-bound`: all weights random; a 30 s window decodes a token or two, so the encoder is
   *     nearly all the work;
   *   - `speechlike`: a few decoder tensors shaped so that greedy decoding emits text at 2.4 tokens
   *     per second of audio in 5 s segments, like speech (see speechlike.ts).
   */
  decoder?: SyntheticDecoder;
}

export type SyntheticDecoder = 'encoder-bound' | 'speechlike';
export const SYNTHETIC_DECODERS: readonly SyntheticDecoder[] = ['encoder-bound', 'speechlike'];

export interface SyntheticModelResult {
  path: string;
  bytes: number;
  dims: ModelDims;
  decoder: SyntheticDecoder;
}

// ---------------------------------------------------------------------------------------------
// Tensor list

/** How a tensor's values are drawn. */
export type TensorInit = 'matrix' | 'bias' | 'norm-weight' | 'norm-bias' | 'positional';

export interface TensorSpec {
  name: string;
  /** Extents in ggml order (ne[0] first), exactly as written in the file. */
  shape: readonly number[];
  type: typeof GGML_TYPE_F32 | typeof GGML_TYPE_F16;
  init: TensorInit;
}

/**
 * Every tensor whisper.cpp's loader creates for these dims, with the name, shape and type it expects,
 * in the order the loader creates them (the loader itself accepts any order).
 */
export function modelTensorSpecs(dims: ModelDims): TensorSpec[] {
  const wtype = dims.ftype === 0 ? GGML_TYPE_F32 : GGML_TYPE_F16; // big matrices
  const ctype = dims.ftype === 0 ? GGML_TYPE_F32 : GGML_TYPE_F16; // convolution kernels
  const f32 = GGML_TYPE_F32;
  const specs: TensorSpec[] = [];
  const add = (name: string, shape: number[], type: TensorSpec['type'], init: TensorInit): void => {
    specs.push({ name, shape, type, init });
  };
  const linear = (prefix: string, nIn: number, nOut: number, bias: boolean): void => {
    add(`${prefix}.weight`, [nIn, nOut], wtype, 'matrix');
    if (bias) add(`${prefix}.bias`, [nOut], f32, 'bias');
  };
  const norm = (prefix: string, n: number): void => {
    add(`${prefix}.weight`, [n], f32, 'norm-weight');
    add(`${prefix}.bias`, [n], f32, 'norm-bias');
  };
  const attention = (prefix: string, n: number): void => {
    linear(`${prefix}.query`, n, n, true);
    linear(`${prefix}.key`, n, n, false); // the key projection has no bias
    linear(`${prefix}.value`, n, n, true);
    linear(`${prefix}.out`, n, n, true);
  };
  const block = (prefix: string, n: number, cross: boolean): void => {
    norm(`${prefix}.mlp_ln`, n);
    linear(`${prefix}.mlp.0`, n, 4 * n, true);
    linear(`${prefix}.mlp.2`, 4 * n, n, true);
    norm(`${prefix}.attn_ln`, n);
    attention(`${prefix}.attn`, n);
    if (cross) {
      norm(`${prefix}.cross_attn_ln`, n);
      attention(`${prefix}.cross_attn`, n);
    }
  };

  const ns = dims.nAudioState;
  add('encoder.positional_embedding', [ns, dims.nAudioCtx], f32, 'positional');
  add('encoder.conv1.weight', [3, dims.nMels, ns], ctype, 'matrix');
  add('encoder.conv1.bias', [1, ns], f32, 'bias');
  add('encoder.conv2.weight', [3, ns, ns], ctype, 'matrix');
  add('encoder.conv2.bias', [1, ns], f32, 'bias');
  norm('encoder.ln_post', ns);
  for (let i = 0; i < dims.nAudioLayer; i++) block(`encoder.blocks.${i}`, ns, false);

  const nt = dims.nTextState;
  add('decoder.positional_embedding', [nt, dims.nTextCtx], f32, 'positional');
  add('decoder.token_embedding.weight', [nt, dims.nVocab], wtype, 'matrix');
  norm('decoder.ln', nt);
  for (let i = 0; i < dims.nTextLayer; i++) block(`decoder.blocks.${i}`, nt, true);
  return specs;
}

export function ggmlTypeSize(type: number): number {
  if (type === GGML_TYPE_F32) return 4;
  if (type === GGML_TYPE_F16) return 2;
  throw new Error(`unsupported ggml tensor type ${type}`);
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const vocabCache = new Map<number, readonly Buffer[]>();

/**
 * The token byte strings written to the file for a model of `nVocab` (always FILE_VOCAB_TOKENS of
 * them). Deterministic and independent of the weight seed:
 *   - ids 0..255: every single byte (byte-level BPE base tokens), so " " is id 32;
 *   - then a few fixed multi-byte tokens whisper.cpp looks up by text (" -", " '") and common words;
 *   - then distinct made-up words of one to three syllables, some with a leading space, some
 *     capitalised, so decoded text looks like words;
 *   - id 50256: "<|endoftext|>" for English-only models, "" for multilingual ones (as in the
 *     converted OpenAI files; whisper.cpp's special ids start at 50256 / 50257 respectively).
 */
export function syntheticVocabTokens(nVocab: number): readonly Buffer[] {
  const cached = vocabCache.get(nVocab);
  if (cached) return cached;

  const tokens: Buffer[] = [];
  const seen = new Set<string>();
  const push = (b: Buffer): void => {
    const key = b.toString('latin1');
    if (seen.has(key)) return;
    seen.add(key);
    tokens.push(b);
  };
  for (let b = 0; b < 256; b++) push(Buffer.from([b]));
  for (const t of FIXED_TOKENS) push(Buffer.from(t, 'utf8'));

  const nText = FILE_VOCAB_TOKENS - 1;
  const rand = xorshift32(0x70c3a5e1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  while (tokens.length < nText) {
    const nSyl = 1 + Math.floor(rand() * rand() * 3); // 1..3, mostly short
    let word = '';
    for (let s = 0; s < nSyl; s++) word += pick(ONSETS) + pick(VOWELS) + pick(CODAS);
    const r = rand();
    if (r < 0.08) word = word.charAt(0).toUpperCase() + word.slice(1);
    if (rand() < 0.6) word = ' ' + word;
    push(Buffer.from(word, 'utf8'));
  }
  tokens.push(Buffer.from(nVocab >= MIN_N_VOCAB + 1 ? '' : '<|endoftext|>', 'utf8'));
  vocabCache.set(nVocab, tokens);
  return tokens;
}

const FIXED_TOKENS: readonly string[] = [
  ' -', " '", ' --', ' ...', '...', ' "', '."', ',"', '?"', ' (', ').', ' [', ']', ' ♪', "'s", "'t", "'re",
  "'ll", "'ve", "'m", "'d", ' the', ' The', ' and', ' a', ' A', ' to', ' of', ' I', ' you', ' it', ' is',
  ' that', ' in', ' we', ' so', ' So', ' he', ' she', ' they', ' not', ' this', ' what', ' okay', ' yes',
  ' no', ' well', ' Well', ' just', ' like', ' know', ' think', ' right', ' here', ' there', 'ing', 'ed',
  'er', 'ly', 'tion', 'es', 'en', ' th', ' re', ' un',
];
const ONSETS: readonly string[] = [
  '', '', 'b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'y', 'z',
  'ch', 'sh', 'th', 'st', 'tr', 'br', 'pl', 'gr', 'cl', 'sp', 'qu',
];
const VOWELS: readonly string[] = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'ai', 'ea', 'ou', 'oo', 'ie', 'y'];
const CODAS: readonly string[] = ['', '', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'ng', 'ck', 'st', 'x', 'th'];

// ---------------------------------------------------------------------------------------------
// Layout (byte offsets of everything in a file of given dims)

export interface TensorRecordLayout {
  name: string;
  shape: readonly number[];
  type: number;
  /** Index in `ModelLayout.tensors`. */
  index: number;
  /** Start of the record = offset of its i32 n_dims. */
  offset: number;
  nDimsOffset: number;
  nameLengthOffset: number;
  typeOffset: number;
  /** Offset of ne[0]; ne[i] is at dimsOffset + 4 * i. */
  dimsOffset: number;
  nameOffset: number;
  nameBytes: number;
  dataOffset: number;
  dataBytes: number;
  /** One past the last data byte = start of the next record (or the end of the file). */
  end: number;
}

export interface ModelLayout {
  dims: ModelDims;
  magicOffset: 0;
  /** Offset of each int32 hparam in the header. */
  hparamOffsets: Readonly<Record<keyof ModelDims, number>>;
  /** Offsets of the i32 n_mel and i32 n_fft before the filters. */
  nMelOffset: number;
  nFftOffset: number;
  nMel: number;
  nFft: number;
  melFiltersOffset: number;
  melFiltersBytes: number;
  /** Offset of the i32 token count. */
  vocabCountOffset: number;
  vocabCount: number;
  /** Offset of the first token record (its u32 length). */
  vocabStart: number;
  /** One past the last token record = start of the tensors. */
  vocabEnd: number;
  tensorsStart: number;
  tensors: TensorRecordLayout[];
  totalBytes: number;
}

/** Byte offsets of every field of a synthetic model file with these dims. */
export function syntheticModelLayout(dimsOrName: ModelDimsName | ModelDims): ModelLayout {
  const dims = resolveModelDims(dimsOrName);
  const hparamOffsets = {} as Record<keyof ModelDims, number>;
  HPARAM_ORDER.forEach((key, i) => {
    hparamOffsets[key] = 4 + 4 * i;
  });
  const nMelOffset = 4 + 4 * HPARAM_ORDER.length;
  const nFftOffset = nMelOffset + 4;
  const melFiltersOffset = nFftOffset + 4;
  const melFiltersBytes = 4 * dims.nMels * WHISPER_N_FFT_BINS;
  const vocabCountOffset = melFiltersOffset + melFiltersBytes;
  const tokens = syntheticVocabTokens(dims.nVocab);
  const vocabStart = vocabCountOffset + 4;
  let pos = vocabStart;
  for (const t of tokens) pos += 4 + t.length;
  const vocabEnd = pos;

  const tensors: TensorRecordLayout[] = modelTensorSpecs(dims).map((spec, index) => {
    const offset = pos;
    const nameBytes = Buffer.byteLength(spec.name, 'utf8');
    const dimsOffset = offset + 12;
    const nameOffset = dimsOffset + 4 * spec.shape.length;
    const dataOffset = nameOffset + nameBytes;
    const dataBytes = spec.shape.reduce((a, b) => a * b, 1) * ggmlTypeSize(spec.type);
    pos = dataOffset + dataBytes;
    return {
      name: spec.name,
      shape: spec.shape,
      type: spec.type,
      index,
      offset,
      nDimsOffset: offset,
      nameLengthOffset: offset + 4,
      typeOffset: offset + 8,
      dimsOffset,
      nameOffset,
      nameBytes,
      dataOffset,
      dataBytes,
      end: pos,
    };
  });

  return {
    dims,
    magicOffset: 0,
    hparamOffsets,
    nMelOffset,
    nFftOffset,
    nMel: dims.nMels,
    nFft: WHISPER_N_FFT_BINS,
    melFiltersOffset,
    melFiltersBytes,
    vocabCountOffset,
    vocabCount: tokens.length,
    vocabStart,
    vocabEnd,
    tensorsStart: vocabEnd,
    tensors,
    totalBytes: pos,
  };
}

/** Offset of token `id`'s record (its u32 length) in a file with this layout. */
export function vocabTokenOffset(layout: ModelLayout, id: number): number {
  const tokens = syntheticVocabTokens(layout.dims.nVocab);
  if (!Number.isInteger(id) || id < 0 || id >= tokens.length) throw new RangeError(`token id ${id} out of range`);
  let pos = layout.vocabStart;
  for (let i = 0; i < id; i++) pos += 4 + (tokens[i] as Buffer).length;
  return pos;
}

// ---------------------------------------------------------------------------------------------
// Numbers

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * IEEE 754 binary32 -> binary16 bits, round to nearest even, with subnormals, infinities and NaN
 * (NaN stays NaN). `value` is first rounded to float32.
 */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;

  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);

  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> infinity
  if (e <= 0) {
    // Subnormal half (or zero): value = m * 2^(exp-150), half = h * 2^-24  =>  h = m >> (14 - e).
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++; // may carry into the smallest normal
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // carry may reach 0x7c00 = infinity
  return sign | h;
}

/** xorshift32 generator returning floats in [0, 1). `seed` must be non-zero after mixing. */
function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) * 2.3283064365386963e-10;
  };
}

/** Per-tensor stream seed from the model seed and the tensor name (FNV-1a then a 32-bit finaliser). */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0 || 0x2545f491;
}

/** Centre and half-width of the uniform distribution each kind of tensor is drawn from. */
const INIT_RANGES: Readonly<Record<TensorInit, readonly [number, number]>> = {
  matrix: [0, 0.05],
  positional: [0, 0.05],
  bias: [0, 0.01],
  'norm-weight': [1, 0.02],
  'norm-bias': [0, 0.01],
};

/**
 * Slaney-style triangular mel filter bank (area-normalised) over whisper's 201 FFT bins at 16 kHz,
 * 0..8000 Hz: the kind of filters the real model files carry. Row-major, `nMels` rows.
 */
export function melFilterBank(nMels: number): Float32Array {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  const hzToMel = (hz: number): number => (hz < minLogHz ? hz / fSp : minLogMel + Math.log(hz / minLogHz) / logStep);
  const melToHz = (mel: number): number => (mel < minLogMel ? mel * fSp : minLogHz * Math.exp(logStep * (mel - minLogMel)));

  const nBins = WHISPER_N_FFT_BINS;
  const maxMel = hzToMel(SAMPLE_RATE / 2);
  const edges: number[] = [];
  for (let i = 0; i < nMels + 2; i++) edges.push(melToHz((maxMel * i) / (nMels + 1)));

  const out = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m] as number;
    const mid = edges[m + 1] as number;
    const hi = edges[m + 2] as number;
    const norm = 2 / (hi - lo);
    for (let k = 0; k < nBins; k++) {
      const f = (k * SAMPLE_RATE) / FFT_SIZE;
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      out[m * nBins + k] = w * norm;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

const INT32_MAX = 0x7fffffff;

/** Throws unless whisper.cpp can load and run a model with these dims. */
export function validateModelDims(dims: ModelDims): void {
  for (const key of HPARAM_ORDER) {
    const v = dims[key];
    if (key === 'ftype') {
      if (v !== 0 && v !== 1) throw new RangeError(invalidValue('ftype', '0 (f32) or 1 (f16)', v));
      continue;
    }
    if (!Number.isInteger(v) || v <= 0 || v > INT32_MAX) throw new RangeError(invalidValue(key, 'a positive int32', v));
  }
  if (dims.nVocab < MIN_N_VOCAB || dims.nVocab > MAX_N_VOCAB) {
    throw new RangeError(`nVocab must be ${MIN_N_VOCAB} (English-only) to ${MAX_N_VOCAB}: whisper.cpp derives its special tokens from it`);
  }
  if (dims.nAudioState % dims.nAudioHead !== 0) throw new RangeError('nAudioState must be a multiple of nAudioHead');
  if (dims.nTextState % dims.nTextHead !== 0) throw new RangeError('nTextState must be a multiple of nTextHead');
  if (dims.nTextState !== dims.nAudioState) throw new RangeError('nTextState must equal nAudioState (whisper.cpp assumes it)');
  for (const spec of modelTensorSpecs(dims)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (n > INT32_MAX) throw new RangeError(`tensor ${spec.name} has ${n} elements; whisper.cpp counts them in an int32`);
  }
}

// ---------------------------------------------------------------------------------------------
// Speech-like decoder

function speechlikeFor(dims: ModelDims, seed: number): SpeechlikeDecoder {
  return speechlikeDecoder(dims, syntheticVocabTokens(dims.nVocab), xorshift32(tensorSeed(seed, 'speechlike')));
}

/**
 * The token ids a speech-like model of these dims and seed decodes in every 30 s window (what
 * `writeSyntheticModel(path, { decoder: 'speechlike', dims, seed })` writes into its weights).
 */
export function speechlikeScript(dimsOrName: ModelDimsName | ModelDims = 'tiny', seed = DEFAULT_SEED): SpeechlikeScript {
  const dims = resolveModelDims(dimsOrName);
  validateModelDims(dims);
  return speechlikeFor(dims, seed).script;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Buffers small writes and hands the file handle large sequential chunks. */
class ChunkedFileWriter {
  readonly buf: Buffer;
  readonly view: DataView;
  pos = 0;
  written = 0;

  constructor(
    private readonly fh: FileHandle,
    size: number,
  ) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for at least `n` bytes (n <= buffer size). */
  async reserve(n: number): Promise<void> {
    if (this.pos + n > this.buf.length) await this.flush();
  }

  async flush(): Promise<void> {
    let off = 0;
    while (off < this.pos) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.pos - off);
      if (bytesWritten <= 0) throw new Error('short write');
      off += bytesWritten;
    }
    this.written += this.pos;
    this.pos = 0;
  }

  async i32(v: number): Promise<void> {
    await this.reserve(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  async u32(v: number): Promise<void> {
    await this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  async f32(v: number): Promise<void> {
    await this.reserve(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  async bytes(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) {
      if (this.pos === this.buf.length) await this.flush();
      const n = Math.min(b.length - off, this.buf.length - this.pos);
      this.buf.set(b.subarray(off, off + n), this.pos);
      this.pos += n;
      off += n;
    }
  }

  /** Writes `count` values drawn uniformly from centre ± halfWidth, as f32 or f16. */
  async uniform(count: number, type: number, centre: number, halfWidth: number, seed: number): Promise<void> {
    const size = ggmlTypeSize(type);
    let x = seed >>> 0 || 0x9e3779b9;
    const lo = centre - halfWidth;
    const scale = (2 * halfWidth) * 2.3283064365386963e-10;
    let left = count;
    while (left > 0) {
      if (this.buf.length - this.pos < size) await this.flush();
      const n = Math.min(left, Math.floor((this.buf.length - this.pos) / size));
      const view = this.view;
      let p = this.pos;
      if (type === GGML_TYPE_F16) {
        for (let i = 0; i < n; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          view.setUint16(p, float32ToFloat16Bits(lo + (x >>> 0) * scale), true);
          p += 2;
        }
      } else {
        for (let i = 0; i < n; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          view.setFloat32(p, lo + (x >>> 0) * scale, true);
          p += 4;
        }
      }
      this.pos = p;
      left -= n;
    }
  }

  /**
   * Like `uniform` (the same values from the same seed), but `edit` sees each row of `rowLength`
   * values before it is written and may overwrite some: the rest stay what `uniform` would write.
   */
  async uniformEdited(count: number, rowLength: number, type: number, centre: number, halfWidth: number, seed: number, edit: RowEdit): Promise<void> {
    let x = seed >>> 0 || 0x9e3779b9;
    const lo = centre - halfWidth;
    const scale = (2 * halfWidth) * 2.3283064365386963e-10;
    const row = new Float32Array(rowLength);
    for (let r = 0; r * rowLength < count; r++) {
      for (let i = 0; i < rowLength; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        row[i] = lo + (x >>> 0) * scale;
      }
      edit(r, row);
      await this.reserve(rowLength * ggmlTypeSize(type));
      for (const v of row) {
        if (type === GGML_TYPE_F16) this.view.setUint16(this.pos, float32ToFloat16Bits(v), true);
        else this.view.setFloat32(this.pos, v, true);
        this.pos += ggmlTypeSize(type);
      }
    }
  }
}

/**
 * Writes a synthetic whisper.cpp model to `path` (atomically: a temporary file in the same
 * directory, fsynced, then renamed over `path`; on any failure the temporary file is removed and
 * `path` is left untouched). Streams tensor by tensor; the tiny preset takes about a second.
 */
export async function writeSyntheticModel(path: string, options: SyntheticModelOptions = {}): Promise<SyntheticModelResult> {
  const dims = resolveModelDims(options.dims ?? 'tiny');
  validateModelDims(dims);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(invalidValue('seed', 'a uint32', seed));

  const decoder = options.decoder ?? 'encoder-bound';
  if (!SYNTHETIC_DECODERS.includes(decoder)) throw new RangeError(invalidValue('decoder', SYNTHETIC_DECODERS.join(' or '), decoder));
  const edits = decoder === 'speechlike' ? speechlikeFor(dims, seed).edits : undefined;

  const layout = syntheticModelLayout(dims);
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

  const fh = await open(tmp, 'wx', 0o644);
  let closed = false;
  try {
    const w = new ChunkedFileWriter(fh, 1 << 20);

    await w.u32(GGML_FILE_MAGIC);
    for (const key of HPARAM_ORDER) await w.i32(dims[key]);

    await w.i32(layout.nMel);
    await w.i32(layout.nFft);
    for (const v of melFilterBank(dims.nMels)) await w.f32(v);

    const tokens = syntheticVocabTokens(dims.nVocab);
    await w.i32(tokens.length);
    for (const t of tokens) {
      await w.u32(t.length);
      await w.bytes(t);
    }

    for (const spec of modelTensorSpecs(dims)) {
      const name = Buffer.from(spec.name, 'utf8');
      await w.i32(spec.shape.length);
      await w.i32(name.length);
      await w.i32(spec.type);
      for (const ne of spec.shape) await w.i32(ne);
      await w.bytes(name);
      const [centre, halfWidth] = INIT_RANGES[spec.init];
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const edit = edits?.get(spec.name);
      if (edit) await w.uniformEdited(count, spec.shape[0] as number, spec.type, centre, halfWidth, tensorSeed(seed, spec.name), edit);
      else await w.uniform(count, spec.type, centre, halfWidth, tensorSeed(seed, spec.name));
    }
    await w.flush();

    if (w.written !== layout.totalBytes) {
      throw new Error(`internal error: wrote ${w.written} bytes, layout says ${layout.totalBytes}`);
    }
    await fh.sync();
    closed = true;
    await fh.close();
    await rename(tmp, target);
    await syncDirectory(dirname(target));
    return { path, bytes: w.written, dims, decoder };
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Best effort: make the rename durable. Not every platform lets a directory be opened and synced. */
async function syncDirectory(dir: string): Promise<void> {
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch {
    // ignore
  } finally {
    await dh?.close().catch(() => undefined);
  }
}
