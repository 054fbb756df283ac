import { Talk2meError } from '../shared/errors.js';

/**
 * Why a decode failed, in a form the HTTP layer can map to a status code without parsing messages:
 * - AUDIO_INVALID: the bytes are corrupt, truncated or self-contradictory (a client error).
 * - AUDIO_UNSUPPORTED_FORMAT: well-formed, but an encoding we cannot decode here (e.g. mu-law WAV
 *   without ffmpeg, or any non-WAV container when ffmpeg is not installed).
 * - AUDIO_EMPTY: decodes fine but contains no samples.
 * - AUDIO_TOO_LONG: longer than the caller's maxDurationS.
 * - AUDIO_DECODER_FAILED: ffmpeg failed for a reason that is not clearly the input's fault.
 * - ABORTED: the caller's AbortSignal fired.
 */
export type AudioDecodeErrorCode =
  | 'AUDIO_INVALID'
  | 'AUDIO_UNSUPPORTED_FORMAT'
  | 'AUDIO_EMPTY'
  | 'AUDIO_TOO_LONG'
  | 'AUDIO_DECODER_FAILED'
  | 'ABORTED';

/** The only error type the audio module throws for bad input, so callers can handle it in one place. */
export class AudioDecodeError extends Talk2meError<AudioDecodeErrorCode> {}

/** Shorthand for the most common failure, so parser code reads as a list of checks. */
export function invalidWav(reason: string): AudioDecodeError {
  return new AudioDecodeError('AUDIO_INVALID', `Invalid WAV: ${reason}`);
}

/** The rejection for a fired AbortSignal; the signal's reason is kept as `cause` for callers that set one. */
export function abortedError(signal: AbortSignal | undefined): AudioDecodeError {
  const reason: unknown = signal?.reason;
  const detail = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new AudioDecodeError('ABORTED', `Audio decoding was aborted${detail}`, { cause: reason });
}
