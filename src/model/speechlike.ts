/**
 * The speech-like decoder of a synthetic model: weights that make greedy decoding emit text at the
 * rate real speech does, so the decoder does the work a transcription of speech makes it do.
 *
 * A model with purely random weights is encoder-bound: its logits are nearly flat, the 1501
 * timestamp tokens together outweigh any text token, and a 30 s window ends after about three
 * tokens. Here a few tensors of the decoder are overwritten so that every window decodes a fixed
 * script, whatever the audio:
 *
 *   <|0.00|> w w ... w <|5.00|><|5.00|> w w ... w <|10.00|><|10.00|> ... w <|30.00|> <|endoftext|>
 *
 * six segments of SPEECHLIKE_SEGMENT_SECONDS, each of SPEECHLIKE_TOKENS_PER_SEGMENT text tokens
 * (words drawn from the vocabulary with the seed). whisper.cpp ends a window when a timestamp
 * reaches the end of the audio, so a clip decodes one segment per started 5 s: 12 text tokens for
 * 5 s, 24 for 10 s, 72 for 30 s, i.e. 2.4 tokens per second of audio. Longer clips take a window
 * per 30 s, each with the same script. Without timestamps the whole window's script is decoded
 * (72 text tokens), as nothing else tells where the speech ends.
 *
 * How. whisper.cpp's decoder ties its input and output embeddings: the logits are the final
 * layer-normed residual stream times `decoder.token_embedding.weight`. The decoding is a chain
 * of states, each the embedding of the token just emitted; every state is the sum of two of a few
 * orthonormal directions: "what it is" (the start of the window, a timestamp, the j-th word of a
 * segment) and "which segment". The last decoder block's MLP holds one detector unit per state
 * (it fires only when both of the state's directions are in its input, and GELU is exactly linear
 * above 10 and exactly zero below -10 in ggml) whose output replaces the state with the direction
 * of the next token. The residual stream carries the embeddings at an RMS of RESIDUAL_SCALE per
 * dimension, far above what the other, still random, blocks add, so that noise never decides a
 * token, and the winner's probability is ~1: whisper.cpp's temperature fallback (mean log
 * probability under -1, or a window that repeats itself) never discards a window.
 *
 * whisper.cpp's rules do the rest: after a timestamp that closes a segment only timestamps or the
 * end of text may follow, after a pair of timestamps only text. So a timestamp's successor points
 * at both itself and the next segment's first word, and the rules pick which one is emitted.
 *
 * Compute is unchanged: the same tensors, shapes and types, and ggml's dense matrix products do
 * not look at the values.
 */
import { invalidValue } from '../shared/errors.js';
import type { ModelDims } from './dims.js';

/** Audio per segment of the script; a clip decodes one segment per started interval. */
export const SPEECHLIKE_SEGMENT_SECONDS = 5;
/** Text tokens in each segment. */
export const SPEECHLIKE_TOKENS_PER_SEGMENT = 12;
/** Length of whisper's window, in seconds. */
const WINDOW_SECONDS = 30;
/** Segments in one 30 s window. */
export const SPEECHLIKE_SEGMENTS_PER_WINDOW = WINDOW_SECONDS / SPEECHLIKE_SEGMENT_SECONDS;
/** Text tokens in one 30 s window (72). */
export const SPEECHLIKE_TOKENS_PER_WINDOW = SPEECHLIKE_SEGMENTS_PER_WINDOW * SPEECHLIKE_TOKENS_PER_SEGMENT;
/** Text tokens per second of audio the script decodes (2.4). */
export const SPEECHLIKE_TOKENS_PER_SECOND = SPEECHLIKE_TOKENS_PER_SEGMENT / SPEECHLIKE_SEGMENT_SECONDS;

/** Timestamp tokens: one per 20 ms from 0 to 30 s, the last 1501 ids of the vocabulary. */
const TIMESTAMP_TOKENS = 1501;
const SECONDS_PER_TIMESTAMP = 0.02;

/** RMS per dimension of an embedding row of the script (its norm: this times sqrt(n)); see the module comment. */
const RESIDUAL_SCALE = 16;
/** Detector sharpness: a unit's pre-activation is 60 * (sum of its two projections - 1). */
const DETECTOR_GAIN = 60;
const DETECTOR_THRESHOLD = 1;
/**
 * Weight of the next segment's first word in the direction that closes a segment: below the
 * timestamp's, so the timestamp wins where timestamps are allowed, and the word where they are not
 * (decoding without timestamps).
 */
const NEXT_WORD_WEIGHT = 0.5;

/** Overwrites values of one row (the ne[0] values of index `row`) as the tensor is written. */
export type RowEdit = (row: number, values: Float32Array) => void;

/** The ids whisper.cpp gives its special tokens, all derived from n_vocab. */
export interface SpecialTokens {
  eot: number;
  sot: number;
  translate: number;
  transcribe: number;
  noTimestamps: number;
  /** <|0.00|>; <|t|> is beg + t / 0.02. */
  beg: number;
}

/** The token ids a speech-like model decodes in each 30 s window. */
export interface SpeechlikeScript {
  /** Text token ids of each segment, in order. */
  segments: number[][];
  /** Timestamp token ids at 0, 5, ..., 30 s. */
  timestamps: number[];
  special: SpecialTokens;
}

export interface SpeechlikeDecoder {
  script: SpeechlikeScript;
  /** Edits by tensor name; every other tensor keeps its random values. */
  edits: ReadonlyMap<string, RowEdit>;
}

/**
 * The narrowest decoder a speech-like model fits in: its directions must be orthogonal to each
 * other and to the all-ones vector, and the MLP (4 units per dimension) needs a unit per state.
 */
export function speechlikeMinTextState(): number {
  const states = 1 + (SPEECHLIKE_SEGMENTS_PER_WINDOW + 1) + SPEECHLIKE_TOKENS_PER_WINDOW;
  return Math.max(directionCount() + 1, Math.ceil(states / 4));
}

/** whisper.cpp's special token ids for a model of `nVocab` (as whisper_model_load sets them). */
export function specialTokens(nVocab: number): SpecialTokens {
  const multilingual = nVocab >= 51865;
  // Each language beyond the 99 of the first multilingual models shifts the ids after them.
  const shift = multilingual ? nVocab - 51865 + 1 : 0;
  return {
    eot: 50256 + (multilingual ? 1 : 0),
    sot: 50257 + (multilingual ? 1 : 0),
    translate: 50357 + shift,
    transcribe: 50358 + shift,
    noTimestamps: 50362 + shift,
    beg: nVocab - TIMESTAMP_TOKENS,
  };
}

/**
 * The script and tensor edits of a speech-like decoder. `vocab` is the file's token list (words are
 * drawn from it), `random` a seeded generator of floats in [0, 1).
 */
export function speechlikeDecoder(dims: ModelDims, vocab: readonly Buffer[], random: () => number): SpeechlikeDecoder {
  const n = dims.nTextState;
  if (n < speechlikeMinTextState()) {
    throw new RangeError(invalidValue('nTextState of a speech-like decoder', `at least ${speechlikeMinTextState()}`, n));
  }
  const special = specialTokens(dims.nVocab);
  const script = drawScript(special, vocab, random);
  const basis = orthonormalDirections(n, directionCount(), random);
  const dir = directionIndex();
  const states = chainStates(script, dir);

  const scale = RESIDUAL_SCALE * Math.sqrt(n);
  const embeddings = new Map<number, Float64Array>();
  for (const state of states) {
    for (const token of state.tokens) embeddings.set(token, scaled(combine(basis, state.is), scale));
  }
  embeddings.set(special.eot, scaled(basis[dir.eot] as Float64Array, scale));

  // Detector u: pre-activation DETECTOR_GAIN * (projection on its two directions - threshold), with
  // the block's layer norm scaling its input to a norm of sqrt(n).
  const onValue = DETECTOR_GAIN * (Math.SQRT2 - DETECTOR_THRESHOLD);
  const inputWeights = states.map((state) => scaled(combine(basis, state.is), (DETECTOR_GAIN * Math.SQRT2) / Math.sqrt(n)));
  const outputWeights = states.map((state) => {
    const next = scaled(combine(basis, state.next), scale);
    const current = scaled(combine(basis, state.is), scale);
    return next.map((v, i) => (v - (current[i] as number)) / onValue);
  });

  const block = `decoder.blocks.${dims.nTextLayer - 1}`;
  const edits = new Map<string, RowEdit>([
    [
      'decoder.token_embedding.weight',
      (row, values) => {
        const e = embeddings.get(row);
        if (e) values.set(e);
      },
    ],
    [
      `${block}.mlp.0.weight`,
      (row, values) => {
        const w = inputWeights[row];
        if (w) values.set(w);
      },
    ],
    [
      `${block}.mlp.0.bias`,
      (_row, values) => {
        for (let u = 0; u < states.length; u++) values[u] = -DETECTOR_GAIN * DETECTOR_THRESHOLD;
      },
    ],
    [
      `${block}.mlp.2.weight`,
      (row, values) => {
        // Row `row` holds output dimension `row` for every hidden unit.
        for (let u = 0; u < states.length; u++) values[u] = (outputWeights[u] as Float64Array)[row] as number;
      },
    ],
  ]);
  return { script, edits };
}

// ---------------------------------------------------------------------------------------------
// The chain

interface Directions {
  start: number;
  timestamp: number;
  /** word[j]: the j-th word of a segment. */
  word: number[];
  /** segment[s]: segment s, 0..SEGMENTS_PER_WINDOW (the last one only for <|30.00|>). */
  segment: number[];
  eot: number;
}

function directionIndex(): Directions {
  let next = 0;
  const take = (): number => next++;
  const start = take();
  const timestamp = take();
  const word = Array.from({ length: SPEECHLIKE_TOKENS_PER_SEGMENT }, take);
  const segment = Array.from({ length: SPEECHLIKE_SEGMENTS_PER_WINDOW + 1 }, take);
  return { start, timestamp, word, segment, eot: take() };
}

function directionCount(): number {
  return 2 + SPEECHLIKE_TOKENS_PER_SEGMENT + SPEECHLIKE_SEGMENTS_PER_WINDOW + 1 + 1;
}

/** A weighted sum of directions, by index. */
type Mix = ReadonlyArray<readonly [number, number]>;

interface ChainState {
  /** Tokens whose embedding is this state. */
  tokens: number[];
  /** The two directions (weight 1 each) that make the state. */
  is: Mix;
  /** Where the residual stream goes from here: the next token's state (or states, for the rules to pick). */
  next: Mix;
}

function chainStates(script: SpeechlikeScript, dir: Directions): ChainState[] {
  const S = SPEECHLIKE_SEGMENTS_PER_WINDOW;
  const L = SPEECHLIKE_TOKENS_PER_SEGMENT;
  const { special } = script;
  const seg = (s: number): number => dir.segment[s] as number;
  const word = (j: number): number => dir.word[j] as number;
  const closeSegment = (s: number): Mix =>
    s + 1 < S
      ? [[dir.timestamp, 1], [seg(s + 1), 1], [word(0), NEXT_WORD_WEIGHT]]
      : [[dir.timestamp, 1], [seg(S), 1], [dir.eot, NEXT_WORD_WEIGHT]];

  const states: ChainState[] = [
    // The last token of every prompt (start of transcript, task, no-timestamps): on to <|0.00|>.
    {
      tokens: [special.sot, special.translate, special.transcribe, special.noTimestamps],
      is: [[dir.start, 1], [seg(0), 1]],
      next: [[dir.timestamp, 1], [seg(0), 1], [word(0), NEXT_WORD_WEIGHT]],
    },
  ];
  script.timestamps.forEach((token, k) => {
    states.push({
      tokens: [token],
      is: [[dir.timestamp, 1], [seg(k), 1]],
      // Itself again (the pair that opens the next segment) or the segment's first word; the
      // last timestamp ends the window.
      next: k < S ? [[dir.timestamp, 1], [seg(k), 1], [word(0), 1]] : [[dir.eot, 1]],
    });
  });
  script.segments.forEach((tokens, s) => {
    tokens.forEach((token, j) => {
      states.push({
        tokens: [token],
        is: [[word(j), 1], [seg(s), 1]],
        next: j + 1 < L ? [[word(j + 1), 1], [seg(s), 1]] : closeSegment(s),
      });
    });
  });
  return states;
}

/** Distinct words with a leading space, drawn with the seed; and the timestamps 0, 5, ..., 30 s. */
function drawScript(special: SpecialTokens, vocab: readonly Buffer[], random: () => number): SpeechlikeScript {
  const candidates: number[] = [];
  vocab.forEach((token, id) => {
    if (id < special.eot && /^ [A-Za-z]+$/.test(token.toString('latin1'))) candidates.push(id);
  });
  const needed = SPEECHLIKE_SEGMENTS_PER_WINDOW * SPEECHLIKE_TOKENS_PER_SEGMENT;
  const chosen = new Set<number>();
  while (chosen.size < needed) chosen.add(candidates[Math.floor(random() * candidates.length)] as number);
  const words = [...chosen];
  const segments = Array.from({ length: SPEECHLIKE_SEGMENTS_PER_WINDOW }, (_, s) =>
    words.slice(s * SPEECHLIKE_TOKENS_PER_SEGMENT, (s + 1) * SPEECHLIKE_TOKENS_PER_SEGMENT),
  );
  const step = Math.round(SPEECHLIKE_SEGMENT_SECONDS / SECONDS_PER_TIMESTAMP);
  const timestamps = Array.from({ length: SPEECHLIKE_SEGMENTS_PER_WINDOW + 1 }, (_, k) => special.beg + k * step);
  return { segments, timestamps, special };
}

// ---------------------------------------------------------------------------------------------
// Vectors

/**
 * `count` orthonormal vectors of `n` values, each with zero mean: layer norm subtracts the mean,
 * so a direction along the all-ones vector would vanish. Random, then Gram-Schmidt (twice, for
 * precision).
 */
function orthonormalDirections(n: number, count: number, random: () => number): Float64Array[] {
  const ones = new Float64Array(n).fill(1 / Math.sqrt(n));
  const out: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    const v = Float64Array.from({ length: n }, () => 2 * random() - 1);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of [ones, ...out]) {
        const d = dot(u, v);
        for (let i = 0; i < n; i++) v[i] = (v[i] as number) - d * (u[i] as number);
      }
    }
    out.push(scaled(v, 1 / Math.sqrt(dot(v, v))));
  }
  return out;
}

function combine(basis: readonly Float64Array[], mix: Mix): Float64Array {
  const n = (basis[0] as Float64Array).length;
  const out = new Float64Array(n);
  for (const [index, weight] of mix) {
    const b = basis[index] as Float64Array;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + weight * (b[i] as number);
  }
  return scaled(out, 1 / Math.sqrt(dot(out, out)));
}

function scaled(v: Float64Array, factor: number): Float64Array {
  return v.map((x) => x * factor);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}
