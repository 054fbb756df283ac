// Temporary upload files: the registry that owns UPLOAD_DIR, and the per-request context that removes its files.
export { DEFAULT_TEMP_PREFIX, sanitiseExtension } from './names.js';
export { TempFileError, type TempFileErrorCode } from './errors.js';
export type { StartupSweepResult } from './startup-sweep.js';
export { DEFAULT_REMOVAL_CONCURRENCY, TempFileRegistry, type RemovalResult, type TempFileMeta, type TempFileRegistryOptions, type TempFileStats } from './registry.js';
export { AudioProcessingContext, type AudioProcessingOptions, type TempFileSource } from './audio-processing-context.js';
