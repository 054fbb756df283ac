// The memory guards on their own: the entry whose size the budget test holds to 6 KB (min+gzip).
export { AudioBlobHandler } from './audio-blob-handler.js';
export { browserMedia, type MediaDeps } from './media-deps.js';
export { MemoryManager, pageMemory, type MemoryStats, type ReleaseReport } from './memory-manager.js';
export { RecorderError, type RecorderErrorCode } from './recorder-error.js';
export { SafeMediaRecorder, type StopReason } from './safe-media-recorder.js';
