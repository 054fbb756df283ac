import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MODEL_DIMS, type ModelDims } from '../../src/model/dims.js';
import { SPEECHLIKE_SEGMENT_SECONDS, SPEECHLIKE_TOKENS_PER_SECOND, SPEECHLIKE_TOKENS_PER_SEGMENT } from '../../src/model/speechlike.js';
import { float32ToFloat16Bits, speechlikeScript, syntheticModelLayout, writeSyntheticModel } from '../../src/model/synthetic.js';
import { WhisperModel, type Transcription } from '../../src/native/index.js';
import {
  CORRUPT_MODEL_CASES,
  HEADER_OFFSETS,
  SPACE_REPLACEMENT,
  TRAILING_GARBAGE,
  modelFileLayout,
  readModelDims,
  tensorRecord,
  tokenId,
  vocabTokenOffset,
  type ModelLayout,
} from '../fixtures/corrupt-models.js';
import { syllableTones } from '../helpers/signals.js';

// Exact sizes of the preset models (regression values; the independent computation below must agree).
const TINY_BYTES = 77_772_653;
const MINI_BYTES = 8_087_473;
// The default (encoder-bound) mini model, byte for byte: the benchmarks' figures were measured on it.
const MINI_SHA256 = 'cc9532d222f6ff150ba0af45ce2efe78ce8d84d4b9b9097092699bcb5ca05a49';

// ---------------------------------------------------------------------------------------------
// An independent reader of the file format (does not use the writer's layout code).

interface ParsedTensor {
  name: string;
  shape: number[];
  type: number;
  dataOffset: number;
  dataBytes: number;
}

interface ParsedModel {
  magic: number;
  hparams: number[];
  nMel: number;
  nFft: number;
  filters: Float32Array;
  tokens: Buffer[];
  vocabBytes: number;
  tensors: ParsedTensor[];
  end: number;
  size: number;
}

class FileReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(
    private readonly fh: Awaited<ReturnType<typeof open>>,
    readonly size: number,
  ) {}

  async bytes(n: number): Promise<Buffer> {
    if (this.pos + n > this.size) throw new Error(`read past end at ${this.pos} (+${n}, size ${this.size})`);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
      this.buf = Buffer.alloc(len);
      await this.fh.read(this.buf, 0, len, this.pos);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }
  async i32(): Promise<number> {
    return (await this.bytes(4)).readInt32LE(0);
  }
  async u32(): Promise<number> {
    return (await this.bytes(4)).readUInt32LE(0);
  }
  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.size) throw new Error('skip past end');
  }
}

async function parseModel(path: string): Promise<ParsedModel> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const r = new FileReader(fh, size);
    const magic = await r.u32();
    const hparams: number[] = [];
    for (let i = 0; i < 11; i++) hparams.push(await r.i32());
    const nMel = await r.i32();
    const nFft = await r.i32();
    const fb = Buffer.from(await r.bytes(nMel * nFft * 4));
    const filters = new Float32Array(nMel * nFft);
    for (let i = 0; i < filters.length; i++) filters[i] = fb.readFloatLE(i * 4);
    const vocabStart = r.pos;
    const nTokens = await r.i32();
    const tokens: Buffer[] = [];
    for (let i = 0; i < nTokens; i++) tokens.push(Buffer.from(await r.bytes(await r.u32())));
    const vocabBytes = r.pos - vocabStart;
    const tensors: ParsedTensor[] = [];
    while (r.pos < size) {
      const nDims = await r.i32();
      const nameLen = await r.i32();
      const type = await r.i32();
      const shape: number[] = [];
      for (let i = 0; i < nDims; i++) shape.push(await r.i32());
      const name = (await r.bytes(nameLen)).toString('utf8');
      const dataBytes = shape.reduce((a, b) => a * b, 1) * (type === 0 ? 4 : 2);
      tensors.push({ name, shape, type, dataOffset: r.pos, dataBytes });
      r.skip(dataBytes);
    }
    return { magic, hparams, nMel, nFft, filters, tokens, vocabBytes, tensors, end: r.pos, size };
  } finally {
    await fh.close();
  }
}

/** What whisper_model_load (whisper.cpp 1.9.1) creates, written out independently of the writer. */
function expectedTensors(d: ModelDims): { name: string; shape: number[]; type: number }[] {
  const W = d.ftype === 1 ? 1 : 0;
  const n = d.nAudioState;
  const list: { name: string; shape: number[]; type: number }[] = [
    { name: 'encoder.positional_embedding', shape: [n, d.nAudioCtx], type: 0 },
    { name: 'encoder.conv1.weight', shape: [3, d.nMels, n], type: W },
    { name: 'encoder.conv1.bias', shape: [1, n], type: 0 },
    { name: 'encoder.conv2.weight', shape: [3, n, n], type: W },
    { name: 'encoder.conv2.bias', shape: [1, n], type: 0 },
    { name: 'encoder.ln_post.weight', shape: [n], type: 0 },
    { name: 'encoder.ln_post.bias', shape: [n], type: 0 },
    { name: 'decoder.positional_embedding', shape: [d.nTextState, d.nTextCtx], type: 0 },
    { name: 'decoder.token_embedding.weight', shape: [d.nTextState, d.nVocab], type: W },
    { name: 'decoder.ln.weight', shape: [d.nTextState], type: 0 },
    { name: 'decoder.ln.bias', shape: [d.nTextState], type: 0 },
  ];
  const blockTensors = (p: string, s: number, cross: boolean): void => {
    const attn = (a: string): void => {
      list.push(
        { name: `${p}.${a}_ln.weight`, shape: [s], type: 0 },
        { name: `${p}.${a}_ln.bias`, shape: [s], type: 0 },
        { name: `${p}.${a}.query.weight`, shape: [s, s], type: W },
        { name: `${p}.${a}.query.bias`, shape: [s], type: 0 },
        { name: `${p}.${a}.key.weight`, shape: [s, s], type: W },
        { name: `${p}.${a}.value.weight`, shape: [s, s], type: W },
        { name: `${p}.${a}.value.bias`, shape: [s], type: 0 },
        { name: `${p}.${a}.out.weight`, shape: [s, s], type: W },
        { name: `${p}.${a}.out.bias`, shape: [s], type: 0 },
      );
    };
    list.push(
      { name: `${p}.mlp_ln.weight`, shape: [s], type: 0 },
      { name: `${p}.mlp_ln.bias`, shape: [s], type: 0 },
      { name: `${p}.mlp.0.weight`, shape: [s, 4 * s], type: W },
      { name: `${p}.mlp.0.bias`, shape: [4 * s], type: 0 },
      { name: `${p}.mlp.2.weight`, shape: [4 * s, s], type: W },
      { name: `${p}.mlp.2.bias`, shape: [s], type: 0 },
    );
    attn('attn');
    if (cross) attn('cross_attn');
  };
  for (let i = 0; i < d.nAudioLayer; i++) blockTensors(`encoder.blocks.${i}`, n, false);
  for (let i = 0; i < d.nTextLayer; i++) blockTensors(`decoder.blocks.${i}`, d.nTextState, true);
  return list;
}

function expectedTensorBytes(d: ModelDims): number {
  return expectedTensors(d).reduce(
    (sum, t) => sum + 12 + 4 * t.shape.length + Buffer.byteLength(t.name) + t.shape.reduce((a, b) => a * b, 1) * (t.type === 0 ? 4 : 2),
    0,
  );
}

function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

// ---------------------------------------------------------------------------------------------

let dir: string;
const paths = { tiny: '', mini: '', miniAgain: '', miniOtherSeed: '' };
const results: Record<string, Awaited<ReturnType<typeof writeSyntheticModel>>> = {};
const parsed: Record<string, ParsedModel> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'talk2me-synthetic-'));
  paths.tiny = join(dir, 'tiny.bin');
  paths.mini = join(dir, 'mini.bin');
  paths.miniAgain = join(dir, 'mini-again.bin');
  paths.miniOtherSeed = join(dir, 'mini-seed-7.bin');
  results.tiny = await writeSyntheticModel(paths.tiny, { dims: 'tiny' });
  results.mini = await writeSyntheticModel(paths.mini, { dims: 'mini' });
  results.miniAgain = await writeSyntheticModel(paths.miniAgain, { dims: { ...MODEL_DIMS.mini } });
  results.miniOtherSeed = await writeSyntheticModel(paths.miniOtherSeed, { dims: 'mini', seed: 7 });
  parsed.tiny = await parseModel(paths.tiny);
  parsed.mini = await parseModel(paths.mini);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('float32ToFloat16Bits', () => {
  it('converts with round-to-nearest-even, subnormals, overflow and NaN', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [65519, 0x7bff], // rounds down
      [65520, 0x7c00], // rounds up to infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half: ties to even (0)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 ulp: ties to even (2)
      [1 + 2 ** -11, 0x3c00], // half ulp above 1: ties to even
      [1 + 3 * 2 ** -11, 0x3c02],
      [0.1, 0x2e66],
      [0.05, 0x2a66],
      [-0.05, 0xaa66],
      [(2 ** -14) * (1 - 2 ** -11), 0x0400], // largest value that rounds up into the normals
    ];
    for (const [v, bits] of cases) expect([v, float32ToFloat16Bits(v)]).toEqual([v, bits]);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('round-trips every finite half value', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      if (float32ToFloat16Bits(f16ToNumber(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });
});

describe.each(['tiny', 'mini'] as const)('%s synthetic model', (name) => {
  const dims = MODEL_DIMS[name];

  it('has the expected size', async () => {
    const p = parsed[name] as ParsedModel;
    const computed = 4 + 11 * 4 + 8 + dims.nMels * 201 * 4 + p.vocabBytes + expectedTensorBytes(dims);
    expect(p.tokens).toHaveLength(50257);
    expect((await stat(paths[name])).size).toBe(computed);
    expect(results[name]?.bytes).toBe(computed);
    expect(computed).toBe(name === 'tiny' ? TINY_BYTES : MINI_BYTES);
    expect(syntheticModelLayout(name).totalBytes).toBe(computed);
    expect(results[name]?.dims).toEqual(dims);
    expect(results[name]?.path).toBe(paths[name]);
  });

  it('header fields read back', async () => {
    const p = parsed[name] as ParsedModel;
    expect(p.magic).toBe(0x67676d6c);
    expect(p.hparams).toEqual([
      dims.nVocab,
      dims.nAudioCtx,
      dims.nAudioState,
      dims.nAudioHead,
      dims.nAudioLayer,
      dims.nTextCtx,
      dims.nTextState,
      dims.nTextHead,
      dims.nTextLayer,
      dims.nMels,
      dims.ftype,
    ]);
    expect(await readModelDims(paths[name])).toEqual(dims);
    expect([p.nMel, p.nFft]).toEqual([dims.nMels, 201]);
    // A plausible mel filter bank: non-negative triangles, every band non-empty.
    for (let m = 0; m < p.nMel; m++) {
      const row = p.filters.subarray(m * 201, (m + 1) * 201);
      expect(row.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      expect(row.some((v) => v > 0)).toBe(true);
    }
  });

  it('vocab holds the tokens whisper.cpp looks up, all distinct', () => {
    const p = parsed[name] as ParsedModel;
    const texts = new Set(p.tokens.map((t) => t.toString('latin1')));
    expect(texts.size).toBe(p.tokens.length);
    for (const t of [' ', ' -', " '"]) expect(texts.has(Buffer.from(t).toString('latin1'))).toBe(true);
    expect(p.tokens[50256]?.toString()).toBe('<|endoftext|>');
    expect(p.tokens[tokenId(dims, ' ')]?.toString()).toBe(' ');
    // Mostly word-like text, some with a leading space.
    const words = p.tokens.slice(256, 50256).map((t) => t.toString('utf8'));
    expect(words.filter((w) => /^ ?[A-Za-z]+$/.test(w)).length).toBeGreaterThan(49_000);
    expect(words.filter((w) => w.startsWith(' ')).length).toBeGreaterThan(20_000);
  });

  it('tensor list matches what whisper_model_load creates', () => {
    const p = parsed[name] as ParsedModel;
    const expected = expectedTensors(dims);
    expect(expected).toHaveLength(11 + 15 * dims.nAudioLayer + 24 * dims.nTextLayer);
    const got = p.tensors.map(({ name: n, shape, type }) => ({ name: n, shape, type }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect([...got].sort(byName)).toEqual([...expected].sort(byName));
    expect(p.end).toBe(p.size);
    // The writer's layout agrees with the file.
    const layout = syntheticModelLayout(dims);
    expect(layout.tensors.map((t) => [t.name, t.dataOffset, t.dataBytes])).toEqual(p.tensors.map((t) => [t.name, t.dataOffset, t.dataBytes]));
    expect(layout.tensorsStart).toBe(4 + 44 + 8 + dims.nMels * 201 * 4 + p.vocabBytes);
  });

  it('weights are small, finite, varied; norms near 1', async () => {
    const p = parsed[name] as ParsedModel;
    const fh = await open(paths[name], 'r');
    try {
      const sample = async (tensor: string, count: number): Promise<number[]> => {
        const t = p.tensors.find((x) => x.name === tensor);
        if (!t) throw new Error(`no ${tensor}`);
        const size = t.type === 0 ? 4 : 2;
        const n = Math.min(count, t.dataBytes / size);
        const buf = Buffer.alloc(n * size);
        await fh.read(buf, 0, buf.length, t.dataOffset);
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push(size === 4 ? buf.readFloatLE(i * 4) : f16ToNumber(buf.readUInt16LE(i * 2)));
        return out;
      };
      for (const t of ['encoder.conv1.weight', 'decoder.token_embedding.weight', 'encoder.blocks.0.attn.query.weight', 'encoder.positional_embedding']) {
        const v = await sample(t, 4096);
        expect(v.every((x) => Number.isFinite(x) && Math.abs(x) <= 0.0501)).toBe(true);
        expect(new Set(v).size).toBeGreaterThan(100);
        expect(Math.abs(v.reduce((a, b) => a + b, 0) / v.length)).toBeLessThan(0.005);
      }
      const ln = await sample('decoder.ln.weight', 4096);
      expect(ln.every((x) => x >= 0.98 && x <= 1.02)).toBe(true);
      const bias = await sample('encoder.blocks.0.mlp.0.bias', 4096);
      expect(bias.every((x) => Math.abs(x) <= 0.0101)).toBe(true);
    } finally {
      await fh.close();
    }
  });
});

describe('determinism and atomic writes', () => {
  it('the same seed gives identical bytes; another seed changes only the weights', async () => {
    const a = await readFile(paths.mini);
    const b = await readFile(paths.miniAgain);
    const c = await readFile(paths.miniOtherSeed);
    expect(a.equals(b)).toBe(true);
    expect(c.length).toBe(a.length);
    const firstDiff = a.findIndex((x, i) => x !== c[i]);
    const layout = syntheticModelLayout('mini');
    expect(firstDiff).toBeGreaterThanOrEqual((layout.tensors[0]?.dataOffset ?? Infinity));
  });

  it('the default model is the encoder-bound one, unchanged', async () => {
    expect(createHash('sha256').update(await readFile(paths.mini)).digest('hex')).toBe(MINI_SHA256);
    expect(results.mini?.decoder).toBe('encoder-bound');
  });

  it('leaves no temporary files behind', async () => {
    expect((await readdir(dir)).sort()).toEqual(['mini-again.bin', 'mini-seed-7.bin', 'mini.bin', 'tiny.bin']);
  });

  it('creates nothing when the directory does not exist', async () => {
    const target = join(dir, 'no-such-dir', 'model.bin');
    await expect(writeSyntheticModel(target, { dims: 'mini' })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 'no-such-dir'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('removes the temporary file when the final rename fails', async () => {
    const sub = join(dir, 'rename-fails');
    await mkdir(join(sub, 'model.bin'), { recursive: true });
    await writeFile(join(sub, 'model.bin', 'keep'), 'x');
    await expect(writeSyntheticModel(join(sub, 'model.bin'), { dims: 'mini' })).rejects.toThrow();
    expect(await readdir(sub)).toEqual(['model.bin']);
    expect(await readdir(join(sub, 'model.bin'))).toEqual(['keep']);
    await rm(sub, { recursive: true });
  });

  it('replaces an existing file whole', async () => {
    const target = join(dir, 'replace.bin');
    await writeFile(target, 'old contents');
    await writeSyntheticModel(target, { dims: 'mini' });
    expect((await readFile(target)).equals(await readFile(paths.mini))).toBe(true);
    expect((await readdir(dir)).filter((f) => f.includes('replace'))).toEqual(['replace.bin']);
    await rm(target);
  });

  it('rejects dims whisper.cpp cannot use, before touching the disk', async () => {
    const target = join(dir, 'bad-dims.bin');
    const bad: Partial<ModelDims>[] = [
      { nAudioHead: 5 },
      { nVocab: 1000 },
      { nTextState: 128 },
      { nAudioLayer: 0 },
      { ftype: 2 as unknown as 0 },
      { nMels: 1.5 },
    ];
    for (const b of bad) {
      await expect(writeSyntheticModel(target, { dims: { ...MODEL_DIMS.mini, ...b } })).rejects.toThrow(RangeError);
    }
    await expect(writeSyntheticModel(target, { dims: 'mini', seed: -1 })).rejects.toThrow(RangeError);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// ---------------------------------------------------------------------------------------------
// The speech-like decoder: the same file, a few decoder tensors shaped so that greedy decoding
// emits text at a speech-like rate.

describe('speech-like decoder', () => {
  const speech = { a: '', again: '', otherSeed: '' };
  const shaped = ['decoder.token_embedding.weight', 'decoder.blocks.0.mlp.0.weight', 'decoder.blocks.0.mlp.0.bias', 'decoder.blocks.0.mlp.2.weight'];
  const textTokens = (t: Transcription): number[] => t.segments.flatMap((segment) => segment.tokens);
  const clip = syllableTones(10);

  beforeAll(async () => {
    const sub = join(dir, 'speechlike');
    await mkdir(sub);
    speech.a = join(sub, 'a.bin');
    speech.again = join(sub, 'again.bin');
    speech.otherSeed = join(sub, 'seed-7.bin');
    const written = await writeSyntheticModel(speech.a, { dims: 'mini', decoder: 'speechlike' });
    expect(written).toMatchObject({ bytes: MINI_BYTES, decoder: 'speechlike' });
    await writeSyntheticModel(speech.again, { dims: 'mini', decoder: 'speechlike' });
    await writeSyntheticModel(speech.otherSeed, { dims: 'mini', decoder: 'speechlike', seed: 7 });
  });

  it('has the default layout and differs from the default model only inside the tensors it shapes', async () => {
    const plain = await readFile(paths.mini);
    const shapedModel = await readFile(speech.a);
    const layout = syntheticModelLayout('mini');
    expect(shapedModel.length).toBe(plain.length);
    expect(shapedModel.subarray(0, layout.tensorsStart).equals(plain.subarray(0, layout.tensorsStart))).toBe(true);
    const p = await parseModel(speech.a);
    expect(p.tensors).toEqual((parsed.mini as ParsedModel).tensors);
    expect(p.end).toBe(p.size);
    for (const t of layout.tensors) {
      const same = shapedModel.subarray(t.offset, t.end).equals(plain.subarray(t.offset, t.end));
      expect([t.name, same]).toEqual([t.name, !shaped.includes(t.name)]);
      // Only the data: each record's header is the default's.
      expect(shapedModel.subarray(t.offset, t.dataOffset).equals(plain.subarray(t.offset, t.dataOffset))).toBe(true);
    }
  });

  it('the same seed writes the same bytes; another seed draws other words', async () => {
    expect((await readFile(speech.a)).equals(await readFile(speech.again))).toBe(true);
    expect((await readFile(speech.a)).equals(await readFile(speech.otherSeed))).toBe(false);
    const script = speechlikeScript('mini');
    expect(script.segments).toHaveLength(30 / SPEECHLIKE_SEGMENT_SECONDS);
    const words = script.segments.flat();
    expect(new Set(words).size).toBe(words.length);
    for (const segment of script.segments) expect(segment).toHaveLength(SPEECHLIKE_TOKENS_PER_SEGMENT);
    expect(speechlikeScript('mini', 7).segments.flat()).not.toEqual(words);
    expect(speechlikeScript({ ...MODEL_DIMS.mini })).toEqual(script);
  });

  it('refuses dims too narrow for its states, before touching the disk', async () => {
    const target = join(dir, 'speechlike', 'narrow.bin');
    const narrow = { ...MODEL_DIMS.mini, nAudioState: 16, nTextState: 16 };
    await expect(writeSyntheticModel(target, { dims: narrow, decoder: 'speechlike' })).rejects.toThrow(RangeError);
    await expect(writeSyntheticModel(target, { dims: 'mini', decoder: 'loud' as unknown as 'speechlike' })).rejects.toThrow(RangeError);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('passes the model file check and decodes a 10 s clip at a speech-like rate, in timestamped segments', async () => {
    await using model = await WhisperModel.load(speech.a, { threads: 1 });
    const result = await model.transcribe(clip);
    const tokens = textTokens(result);
    // Real speech makes whisper emit about 2 to 4 text tokens per second of audio.
    expect(tokens.length).toBeGreaterThanOrEqual(2 * 10);
    expect(tokens.length).toBeLessThanOrEqual(4 * 10);
    expect(tokens.length).toBe(SPEECHLIKE_TOKENS_PER_SECOND * 10);
    // One segment per 5 s, each the script's words, with timestamps that advance.
    const script = speechlikeScript('mini');
    expect(result.segments.map((s) => [s.start, s.end])).toEqual([
      [0, 5],
      [5, 10],
    ]);
    expect(result.segments.map((s) => s.tokens)).toEqual(script.segments.slice(0, 2));
    // The words win by far: no segment falls under whisper's log-probability threshold (-1), so the
    // temperature fallback never throws a window away.
    for (const segment of result.segments) expect(segment.avgLogprob).toBeGreaterThan(-1);
    expect(result.text.trim().split(/\s+/)).toHaveLength(tokens.length);
  });

  it('decodes the same on two loads', async () => {
    const run = async (): Promise<Transcription> => {
      await using model = await WhisperModel.load(speech.again, { threads: 1 });
      return await model.transcribe(clip);
    };
    const [first, second] = [await run(), await run()];
    const strip = (t: Transcription) => ({ text: t.text, segments: t.segments });
    expect(strip(second)).toEqual(strip(first));
    expect(textTokens(first)).toHaveLength(SPEECHLIKE_TOKENS_PER_SECOND * 10);
  });
});

// ---------------------------------------------------------------------------------------------
// Corrupt model fixtures: each must damage the good model exactly where it says.

type Check = (ctx: { good: Buffer; layout: ModelLayout; path: string }) => Promise<void>;

async function bytesOf(path: string): Promise<Buffer> {
  return readFile(path);
}

/** Bad file equals good with only bytes inside [from, to) changed (and at least one changed). */
function expectPatchedOnlyWithin(good: Buffer, bad: Buffer, from: number, to: number): void {
  expect(bad.length).toBe(good.length);
  expect(bad.subarray(0, from).equals(good.subarray(0, from))).toBe(true);
  expect(bad.subarray(to).equals(good.subarray(to))).toBe(true);
  expect(bad.subarray(from, to).equals(good.subarray(from, to))).toBe(false);
}

function expectTruncatedAt(good: Buffer, bad: Buffer, length: number, inside: [number, number]): void {
  expect(bad.length).toBe(length);
  expect(length).toBeGreaterThan(inside[0]);
  expect(length).toBeLessThan(inside[1]);
  expect(bad.equals(good.subarray(0, length))).toBe(true);
}

const i32At = (b: Buffer, off: number): number => b.readInt32LE(off);

const CHECKS: Record<string, Check> = {
  'bad magic (a GGUF file)': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 0, 4);
    expect(bad.subarray(0, 4).toString('latin1')).toBe('GGUF');
  },
  'empty file (0 bytes)': async ({ path }) => {
    expect((await stat(path)).size).toBe(0);
  },
  '30-byte file': async ({ good, path }) => {
    expectTruncatedAt(good, await bytesOf(path), 30, [4, 48]);
  },
  'truncated inside the hparams (ends before ftype)': async ({ good, path }) => {
    expectTruncatedAt(good, await bytesOf(path), 44, [4, 48]);
  },
  'absurd n_audio_state (1e9)': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 12, 16);
    expect(i32At(bad, 12)).toBe(1e9);
  },
  'n_audio_head = 0': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 16, 20);
    expect(i32At(bad, 16)).toBe(0);
  },
  'n_audio_state not divisible by n_audio_head': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 16, 20);
    expect(i32At(bad, 12) % i32At(bad, 16)).not.toBe(0);
  },
  'n_text_state differs from n_audio_state': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 28, 32);
    expect(i32At(bad, 28)).not.toBe(i32At(bad, 12));
  },
  'unknown ftype (99)': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 44, 48);
    expect(i32At(bad, 44)).toBe(99);
  },
  'negative n_vocab in the hparams': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 4, 8);
    expect(i32At(bad, 4)).toBeLessThan(0);
  },
  'truncated inside the mel filters': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectTruncatedAt(good, bad, bad.length, [56, 56 + 80 * 201 * 4]);
  },
  'huge n_mel x n_fft (n_mel 80, n_fft 2^30)': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 48, 56);
    expect([i32At(bad, 48), i32At(bad, 52)]).toEqual([80, 2 ** 30]);
  },
  'mel filter table larger than the file (n_fft 2^24)': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 52, 56);
    expect(i32At(bad, 48) * i32At(bad, 52) * 4).toBeGreaterThan(bad.length);
  },
  'mel filter shape disagrees with n_mels (n_mel/2, n_fft*2)': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, 48, 56);
    expect([i32At(bad, 48), i32At(bad, 52)]).toEqual([40, 402]);
  },
  'truncated inside the vocab (half-finished download)': async ({ good, layout, path }) => {
    const bad = await bytesOf(path);
    expectTruncatedAt(good, bad, bad.length, [layout.vocabStart, layout.vocabEnd]);
  },
  'negative vocab token count': async ({ good, layout, path }) => {
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, layout.vocabCountOffset, layout.vocabCountOffset + 4);
    expect(i32At(bad, layout.vocabCountOffset)).toBe(-1);
  },
  'absurd token length (4e9 bytes)': async ({ good, layout, path }) => {
    const bad = await bytesOf(path);
    const off = vocabTokenOffset(layout, tokenId(layout.dims, ' the'));
    expect(good.subarray(off + 4, off + 8).toString()).toBe(' the');
    expectPatchedOnlyWithin(good, bad, off, off + 4);
    expect(bad.readUInt32LE(off)).toBe(4e9);
  },
  "vocab without the ' ' token": async ({ good, layout, path }) => {
    const bad = await bytesOf(path);
    const off = vocabTokenOffset(layout, 32);
    expect(good.readUInt32LE(off)).toBe(1);
    expect(good[off + 4]).toBe(0x20);
    const replacement = Buffer.concat([Buffer.from([SPACE_REPLACEMENT.length, 0, 0, 0]), SPACE_REPLACEMENT]);
    expect(bad.equals(Buffer.concat([good.subarray(0, off), replacement, good.subarray(off + 5)]))).toBe(true);
    const p = await parseModel(path);
    expect(p.tokens.some((t) => t.equals(Buffer.from(' ')))).toBe(false);
    expect(p.tensors).toHaveLength(layout.tensors.length);
    expect(p.end).toBe(p.size);
  },
  'truncated inside the tensors (half of the token embedding)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'decoder.token_embedding.weight');
    const bad = await bytesOf(path);
    expectTruncatedAt(good, bad, bad.length, [t.dataOffset, t.end]);
  },
  'truncated inside a tensor header': async ({ good, layout, path }) => {
    const t = layout.tensors.at(-1);
    if (!t) throw new Error('no tensors');
    const bad = await bytesOf(path);
    expectTruncatedAt(good, bad, bad.length, [t.offset, t.dataOffset]);
  },
  'tensor missing (file ends after all but the last tensor)': async ({ good, layout, path }) => {
    const t = layout.tensors.at(-1);
    if (!t) throw new Error('no tensors');
    const bad = await bytesOf(path);
    expectTruncatedAt(good, bad, t.offset, [t.offset - 1, t.end]);
    const p = await parseModel(path);
    expect(p.tensors.map((x) => x.name)).toEqual(layout.tensors.slice(0, -1).map((x) => x.name));
  },
  'wrong tensor shape (mlp.0 extents swapped)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.blocks.0.mlp.0.weight');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.dimsOffset, t.dimsOffset + 8);
    expect([i32At(bad, t.dimsOffset), i32At(bad, t.dimsOffset + 4)]).toEqual([t.shape[1], t.shape[0]]);
  },
  'wrong tensor type (f16 matrix marked f32)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.blocks.0.attn.query.weight');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.typeOffset, t.typeOffset + 4);
    expect([i32At(good, t.typeOffset), i32At(bad, t.typeOffset)]).toEqual([1, 0]);
  },
  'invalid tensor type id (1234)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.blocks.0.attn.query.weight');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.typeOffset, t.typeOffset + 4);
    expect(i32At(bad, t.typeOffset)).toBe(1234);
  },
  'unknown tensor name (encoder.conv3.bias)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.conv1.bias');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.nameOffset, t.dataOffset);
    expect(bad.subarray(t.nameOffset, t.dataOffset).toString()).toBe('encoder.conv3.bias');
  },
  'duplicate tensor (value.weight renamed to query.weight)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.blocks.0.attn.value.weight');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.nameOffset, t.dataOffset);
    const names = (await parseModel(path)).tensors.map((x) => x.name);
    expect(names.filter((n) => n === 'encoder.blocks.0.attn.query.weight')).toHaveLength(2);
    expect(names).not.toContain('encoder.blocks.0.attn.value.weight');
    expect(names).toHaveLength(layout.tensors.length);
  },
  'tensor n_dims out of range (5)': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.blocks.0.attn.query.weight');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.nDimsOffset, t.nDimsOffset + 4);
    expect(i32At(bad, t.nDimsOffset)).toBe(5);
  },
  'negative tensor name length': async ({ good, layout, path }) => {
    const t = tensorRecord(layout, 'encoder.blocks.0.attn.query.weight');
    const bad = await bytesOf(path);
    expectPatchedOnlyWithin(good, bad, t.nameLengthOffset, t.nameLengthOffset + 4);
    expect(i32At(bad, t.nameLengthOffset)).toBe(-1);
  },
  'trailing garbage after the last tensor': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expect(bad.equals(Buffer.concat([good, TRAILING_GARBAGE]))).toBe(true);
    expect(TRAILING_GARBAGE.length).toBeGreaterThanOrEqual(12);
  },
  'trailing 5 bytes after the last tensor': async ({ good, path }) => {
    const bad = await bytesOf(path);
    expect(bad.length).toBe(good.length + 5);
    expect(bad.subarray(0, good.length).equals(good)).toBe(true);
  },
  'a directory': async ({ path }) => {
    expect((await stat(path)).isDirectory()).toBe(true);
  },
  'a missing path': async ({ path }) => {
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  },
  'unreadable file (chmod 000)': async ({ path }) => {
    expect((await stat(path)).mode & 0o777).toBe(0);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'EACCES' });
  },
  'unreadable path (symlink loop, ELOOP)': async ({ path }) => {
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ELOOP' });
  },
};

describe('corrupt model fixtures', () => {
  let corruptDir: string;
  let good: Buffer;
  let layout: ModelLayout;

  beforeAll(async () => {
    corruptDir = join(dir, 'corrupt');
    await mkdir(corruptDir);
    good = await readFile(paths.mini);
    layout = await modelFileLayout(paths.mini);
  });

  it('covers the required cases, each with a unique name, a check and a sane code', () => {
    const names = CORRUPT_MODEL_CASES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(Object.keys(CHECKS).sort());
    expect(CORRUPT_MODEL_CASES.length).toBeGreaterThanOrEqual(22);
    const codes = Object.fromEntries(CORRUPT_MODEL_CASES.map((c) => [c.name, c.expectedCode]));
    expect(codes['a missing path']).toBe('MODEL_NOT_FOUND');
    expect(codes['a directory']).toBe('MODEL_UNREADABLE');
    expect(codes['unreadable file (chmod 000)']).toBe('MODEL_UNREADABLE');
    const invalid = CORRUPT_MODEL_CASES.filter((c) => c.expectedCode === 'MODEL_INVALID');
    expect(invalid.length).toBe(CORRUPT_MODEL_CASES.length - 4);
  });

  it('header offsets agree with the layout', () => {
    expect(HEADER_OFFSETS.hparams).toEqual(layout.hparamOffsets);
    expect([HEADER_OFFSETS.nMel, HEADER_OFFSETS.nFft, HEADER_OFFSETS.melFilters]).toEqual([layout.nMelOffset, layout.nFftOffset, layout.melFiltersOffset]);
    expect(layout.hparamOffsets.ftype).toBe(44);
  });

  for (const c of CORRUPT_MODEL_CASES) {
    it.skipIf(c.skipReason !== undefined)(`${c.name} -> ${c.expectedCode}`, async () => {
      const check = CHECKS[c.name];
      if (!check) throw new Error(`no check for ${c.name}`);
      const path = await c.make(corruptDir, paths.mini);
      expect(path.startsWith(corruptDir)).toBe(true);
      expect(path).not.toBe(paths.mini);
      await check({ good, layout, path });
      // The good model is never touched.
      expect((await readFile(paths.mini)).equals(good)).toBe(true);
    });
  }
});
