import { clampToUnitRange } from './clamp.js';
import { WHISPER_SAMPLE_RATE } from './constants.js';
import { resolveMaxDurationS, tooLongError } from './duration-limit.js';
import { AudioDecodeError } from './errors.js';
import { resample } from './resample.js';
import type { DecodedAudio, DecodeOptions } from './types.js';
import { parseWavLayout } from './wav-layout.js';
import { decodeWavSamplesToMono } from './wav-samples.js';

/**
 * Decodes a WAV file held in memory to 16 kHz mono float PCM in [-1, 1].
 *
 * Throws AudioDecodeError only. The duration limit is checked from the header before any sample
 * is converted, so an over-long upload costs no decoding work and no extra memory.
 */
export function decodeWav(bytes: Uint8Array, options: DecodeOptions = {}): DecodedAudio {
  const maxDurationS = resolveMaxDurationS(options.maxDurationS);
  try {
    const layout = parseWavLayout(bytes);
    const { format } = layout;
    const sourceDurationS = layout.frameCount / format.sampleRate;
    if (sourceDurationS > maxDurationS) throw tooLongError(sourceDurationS, maxDurationS);

    const mono = decodeWavSamplesToMono(bytes, layout);
    const pcm = clampToUnitRange(
      format.sampleRate === WHISPER_SAMPLE_RATE ? mono : resample(mono, format.sampleRate, WHISPER_SAMPLE_RATE),
    );
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
  } catch (error) {
    if (error instanceof AudioDecodeError) throw error;
    // Defence in depth: the parser bounds-checks every field, so anything else (an allocation
    // failure, a bug of ours) is not the input's fault, but callers still get one error type.
    const reason = error instanceof Error ? error.message : String(error);
    throw new AudioDecodeError('AUDIO_DECODER_FAILED', `WAV decoding failed unexpectedly: ${reason}`, { cause: error });
  }
}
