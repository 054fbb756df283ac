/** whisper.cpp only accepts 16 kHz mono float PCM; every decode path ends at this rate. */
export const WHISPER_SAMPLE_RATE = 16000;

/**
 * Ceiling applied when the caller passes no maxDurationS. It is a safety net, not a policy:
 * without it a tiny, highly compressed file (hours of silence in a few kB of FLAC) could make
 * the ffmpeg path allocate gigabytes. Four hours of 16 kHz float32 is about 0.9 GB.
 */
export const DEFAULT_MAX_DURATION_S = 4 * 60 * 60;

/**
 * Sample rates accepted in a WAV header. Below 1 kHz nothing intelligible survives and above
 * 384 kHz no real recorder writes; values outside are far more likely a corrupt header, and
 * bounding them also bounds the resampler's filter length.
 */
export const MIN_SOURCE_SAMPLE_RATE = 1000;
export const MAX_SOURCE_SAMPLE_RATE = 384000;
