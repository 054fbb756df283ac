import { DEFAULT_MAX_DURATION_S } from './constants.js';
import { AudioDecodeError } from './errors.js';

/** Validates the caller's limit once so every decode path applies the same rule. */
export function resolveMaxDurationS(maxDurationS: number | undefined): number {
  if (maxDurationS === undefined) return DEFAULT_MAX_DURATION_S;
  // A programming error, not bad audio, but still an AudioDecodeError so callers have one catch path.
  if (!(maxDurationS > 0) || !Number.isFinite(maxDurationS)) {
    throw new AudioDecodeError('AUDIO_INVALID', `maxDurationS must be a positive finite number, got ${String(maxDurationS)}`);
  }
  return maxDurationS;
}

export function tooLongError(durationS: number | undefined, maxDurationS: number): AudioDecodeError {
  // The streaming (ffmpeg) path stops as soon as the limit is passed, so it never learns the total.
  const message =
    durationS === undefined
      ? `Audio is longer than the limit of ${maxDurationS} s`
      : `Audio is ${durationS.toFixed(1)} s long; the limit is ${maxDurationS} s`;
  return new AudioDecodeError('AUDIO_TOO_LONG', message);
}
