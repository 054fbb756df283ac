// talk2me's public API for use from code.
export * from './native/index.js';
export { AudioDecodeError, decodeAudioFile, decodeWav, isFfmpegAvailable, WHISPER_SAMPLE_RATE } from './audio/index.js';
export type { AudioDecodeErrorCode, DecodedAudio, DecodeFileOptions } from './audio/index.js';
export { formatTranscript, toTranscriptJson, TRANSCRIPT_FORMATS } from './transcript/formats.js';
export type { TranscriptFormat, TranscriptJson } from './transcript/formats.js';
export { writeSyntheticModel } from './model/synthetic.js';
export { MODEL_DIMS } from './model/dims.js';
export { fetchModel, ModelFetchError } from './model/fetch.js';
export { Talk2meError } from './shared/errors.js';
