export { WhisperModel } from './whisper-model.js';
export type { ModelInfo, ModelMemory, RecreateReport, Segment, TranscribeControl, Transcription, TrimReport, Word } from './whisper-model.js';
export { LANGUAGE_CODE, MAX_BEAM_SIZE, MAX_PROMPT_BYTES, type LoadOptions, type TranscribeOptions } from './options.js';
export { WhisperError } from './errors.js';
export type { NativeErrorCode } from './errors.js';
export { logNativeTo, setNativeLogger } from './logging.js';
export type { NativeLogHandler, NativeLogLevel } from './logging.js';
export { systemInfo } from './system-info.js';
export type { SystemInfo } from './system-info.js';
