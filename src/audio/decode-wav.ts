import { setImmediate as nextTurn } from 'node:timers/promises';

import { clampToUnitRange } from './resample.js';
import { WHISPER_SAMPLE_RATE } from './constants.js';
import { resolveMaxDurationS, tooLongError } from './duration-limit.js';
import { abortedError, AudioDecodeError } from './errors.js';
import { resampleJob } from './resample.js';
import type { DecodedAudio, DecodeOptions } from './types.js';
import { parseWavLayout } from './wav-layout.js';
import { mixWavFrames } from './wav-samples.js';

/**
 * One second of audio per slice: a few milliseconds of mixing and resampling between two turns of
 * the event loop, where a whole large upload in one go would stall it for a long fraction of a
 * second (bench/RESULTS.md, bench:wav-decode).
 */
const SLICE_SECONDS = 1;

/**
 * The decoding as a sequence of slices: it yields after each one, so a caller can give the event
 * loop its turn in between (decodeWavInSlices) or run it straight through (decodeWav).
 */
function* decodeSlices(bytes: Uint8Array, options: DecodeOptions): Generator<void, DecodedAudio, void> {
  const maxDurationS = resolveMaxDurationS(options.maxDurationS);
  const layout = parseWavLayout(bytes);
  const { format, frameCount } = layout;
  const sourceDurationS = frameCount / format.sampleRate;
  if (sourceDurationS > maxDurationS) throw tooLongError(sourceDurationS, maxDurationS);

  const mono = new Float32Array(frameCount);
  const framesPerSlice = format.sampleRate * SLICE_SECONDS;
  for (let start = 0; start < frameCount; start += framesPerSlice) {
    mixWavFrames(bytes, layout, mono, start, Math.min(frameCount, start + framesPerSlice));
    yield;
  }
  let pcm: Float32Array = mono;
  if (format.sampleRate !== WHISPER_SAMPLE_RATE) {
    const job = resampleJob(mono, format.sampleRate, WHISPER_SAMPLE_RATE);
    const outPerSlice = WHISPER_SAMPLE_RATE * SLICE_SECONDS;
    for (let start = 0; start < job.output.length; start += outPerSlice) {
      job.fill(start, Math.min(job.output.length, start + outPerSlice));
      yield;
    }
    pcm = job.output;
  }
  clampToUnitRange(pcm);
  return {
    pcm,
    sampleRate: WHISPER_SAMPLE_RATE,
    durationS: pcm.length / WHISPER_SAMPLE_RATE,
    source: {
      format: `wav/${format.name}`,
      sampleRate: format.sampleRate,
      channels: format.channels,
      bitsPerSample: format.bitsPerSample,
    },
  };
}

// Callers get one error type. The parser bounds-checks every field, so anything else (an
// allocation failure, a bug of ours) is not the input's fault, but it is still reported as such.
function asDecodeError(error: unknown): AudioDecodeError {
  if (error instanceof AudioDecodeError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new AudioDecodeError('AUDIO_DECODER_FAILED', `WAV decoding failed unexpectedly: ${reason}`, { cause: error });
}

/**
 * Decodes a WAV file held in memory to 16 kHz mono float PCM in [-1, 1].
 *
 * Throws AudioDecodeError only. The duration limit is checked from the header before any sample
 * is converted, so an over-long upload costs no decoding work and no extra memory.
 */
export function decodeWav(bytes: Uint8Array, options: DecodeOptions = {}): DecodedAudio {
  try {
    const slices = decodeSlices(bytes, options);
    for (;;) {
      const step = slices.next();
      if (step.done) return step.value;
    }
  } catch (error) {
    throw asDecodeError(error);
  }
}

/**
 * decodeWav for a server: the same result, computed one second of audio at a time with the event
 * loop's other work in between, so a long upload does not stall every other request while it
 * decodes. An aborted `signal` stops it between slices (ABORTED).
 */
export async function decodeWavInSlices(bytes: Uint8Array, options: DecodeOptions & { signal?: AbortSignal } = {}): Promise<DecodedAudio> {
  const { signal } = options;
  try {
    const slices = decodeSlices(bytes, options);
    for (;;) {
      const step = slices.next();
      if (step.done) return step.value;
      await nextTurn();
      if (signal?.aborted) throw abortedError(signal);
    }
  } catch (error) {
    throw asDecodeError(error);
  }
}
