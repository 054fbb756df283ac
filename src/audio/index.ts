/**
 * Audio decoding for whisper.cpp: everything ends as 16 kHz mono float32 PCM in [-1, 1].
 * WAV is decoded natively; other formats go through ffmpeg when it is installed.
 */
export { DEFAULT_MAX_DURATION_S, MAX_SOURCE_SAMPLE_RATE, MIN_SOURCE_SAMPLE_RATE, WHISPER_SAMPLE_RATE } from './constants.js';
export { AudioDecodeError, type AudioDecodeErrorCode } from './errors.js';
export type { AudioSourceInfo, DecodedAudio, DecodeFileOptions, DecodeOptions } from './types.js';
export { decodeWav, decodeWavInSlices } from './decode-wav.js';
export { decodeAudioFile } from './decode-file.js';
export { isFfmpegAvailable } from './ffmpeg.js';
export { resample, resampledLength, resampleJob, type ResampleJob } from './resample.js';
