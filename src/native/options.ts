// Options of WhisperModel, checked before anything reaches C++: a wrong value gets a message that
// names the option, what was expected and what was received.
import { availableParallelism } from 'node:os';

import { invalidValue } from '../shared/errors.js';
import { WhisperError } from './errors.js';

/** What a language option takes: "auto" or a code of two or three letters; whisper.cpp checks that it knows it. */
export const LANGUAGE_CODE = /^(auto|[a-z]{2,3})$/;
/** The longest initial prompt, in UTF-8 bytes. */
export const MAX_PROMPT_BYTES = 4096;
/** The widest beam search and the most candidates sampled (beamSize, bestOf). */
export const MAX_BEAM_SIZE = 8;

export interface LoadOptions {
  /** Threads for one transcription unless it asks otherwise. Default: min(4, cores). */
  threads?: number;
  /** Whisper states: how many transcriptions run at once on one set of weights. Default 1. */
  maxStates?: number;
  /** Use the GPU when the build has one. Default true. */
  useGpu?: boolean;
  gpuDevice?: number;
  /** Flash attention (whisper.cpp's default): smaller encoder buffers, faster. Default true. */
  flashAttention?: boolean;
}

export interface TranscribeOptions {
  /** ISO 639-1 code such as "en", or "auto" (default) to detect it (multilingual models). */
  language?: string;
  /** Translate into English. */
  translate?: boolean;
  /** Text that conditions the decoder: names, spelling, style. */
  initialPrompt?: string;
  /** Sampling temperature, 0..1. Default 0 (greedy). */
  temperature?: number;
  /** Step for retrying at a higher temperature when a window fails whisper's thresholds; 0 disables. Default 0.2. */
  temperatureIncrement?: number;
  /** Beam search width, 1..MAX_BEAM_SIZE; 1 (default) decodes greedily. */
  beamSize?: number;
  /** Candidates sampled when greedy, 1..MAX_BEAM_SIZE. */
  bestOf?: number;
  threads?: number;
  /** Segment timestamps. Default true. */
  timestamps?: boolean;
  /** Per-word times (whisper.cpp's token timestamps), in each segment and in Transcription.words. Default false. */
  wordTimestamps?: boolean;
}

export function invalidOption(name: string, expected: string, value: unknown): WhisperError {
  return new WhisperError('INVALID_ARGUMENT', invalidValue(name, expected, value));
}

function integer(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `an integer between ${min} and ${max}`, value);
  }
  return value;
}

function number(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidOption(name, `a number between ${min} and ${max}`, value);
  }
  return value;
}

function boolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidOption(name, 'a boolean', value);
  return value;
}

function plainObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidOption(name, 'an object', value);
  return value as Record<string, unknown>;
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export type CheckedLoadOptions = LoadOptions & { threads: number; maxStates: number };

export function checkLoadOptions(options: unknown): CheckedLoadOptions {
  const o = plainObject('options', options);
  const checked: CheckedLoadOptions = {
    threads: integer('threads', o.threads, 1, 256) ?? defaultThreads(),
    maxStates: integer('maxStates', o.maxStates, 1, 64) ?? 1,
  };
  const useGpu = boolean('useGpu', o.useGpu);
  if (useGpu !== undefined) checked.useGpu = useGpu;
  const gpuDevice = integer('gpuDevice', o.gpuDevice, 0, 64);
  if (gpuDevice !== undefined) checked.gpuDevice = gpuDevice;
  const flash = boolean('flashAttention', o.flashAttention);
  if (flash !== undefined) checked.flashAttention = flash;
  return checked;
}


export function checkTranscribeOptions(options: unknown): TranscribeOptions {
  const o = plainObject('options', options);
  const checked: TranscribeOptions = {};
  if (o.language !== undefined) {
    if (typeof o.language !== 'string' || !LANGUAGE_CODE.test(o.language)) {
      throw invalidOption('language', 'a language code such as "en" or "auto"', o.language);
    }
    checked.language = o.language;
  }
  if (o.initialPrompt !== undefined) {
    if (typeof o.initialPrompt !== 'string' || Buffer.byteLength(o.initialPrompt) > MAX_PROMPT_BYTES) {
      throw invalidOption('initialPrompt', `a string of at most ${MAX_PROMPT_BYTES} bytes`, o.initialPrompt);
    }
    checked.initialPrompt = o.initialPrompt;
  }
  const translate = boolean('translate', o.translate);
  if (translate !== undefined) checked.translate = translate;
  const timestamps = boolean('timestamps', o.timestamps);
  if (timestamps !== undefined) checked.timestamps = timestamps;
  const wordTimestamps = boolean('wordTimestamps', o.wordTimestamps);
  if (wordTimestamps !== undefined) checked.wordTimestamps = wordTimestamps;
  const temperature = number('temperature', o.temperature, 0, 1);
  if (temperature !== undefined) checked.temperature = temperature;
  const increment = number('temperatureIncrement', o.temperatureIncrement, 0, 1);
  if (increment !== undefined) checked.temperatureIncrement = increment;
  const beamSize = integer('beamSize', o.beamSize, 1, MAX_BEAM_SIZE);
  if (beamSize !== undefined) checked.beamSize = beamSize;
  const bestOf = integer('bestOf', o.bestOf, 1, MAX_BEAM_SIZE);
  if (bestOf !== undefined) checked.bestOf = bestOf;
  const threads = integer('threads', o.threads, 1, 256);
  if (threads !== undefined) checked.threads = threads;
  return checked;
}

export function checkPcm(pcm: unknown): Float32Array {
  if (!(pcm instanceof Float32Array)) throw invalidOption('pcm', 'a Float32Array of 16 kHz mono samples', pcm);
  if (pcm.length === 0) throw new WhisperError('INVALID_ARGUMENT', 'Expected at least one audio sample but received an empty Float32Array');
  return pcm;
}

export function checkPath(name: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw invalidOption(name, 'a non-empty string', path);
  return path;
}

/** A callback option: undefined or a function. */
export function checkListener<F extends (...args: never[]) => unknown>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidOption(name, 'a function', value);
  return value as F;
}
