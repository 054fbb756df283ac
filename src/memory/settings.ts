// The memory manager's settings. They are read and checked above memory, from the one settings
// table (src/server/settings.ts).
import type { TrimPolicy } from '../model/host.js';

export interface MemorySettings {
  /** RSS above which the ladder trims, then reloads. */
  memoryThresholdMb: number;
  /** GPU memory in use above which the ladder trims, then reloads. */
  gpuMemoryThresholdMb: number;
  cleanupIntervalS: number;
  statsLogIntervalS: number;
  tempFileMaxAgeS: number;
  tempFileMaxAgeAggressiveS: number;
  modelReloadMinIntervalS: number;
  /** 0 keeps the model loaded for good. */
  modelIdleUnloadS: number;
  uploadDir: string;
  debugMemory: boolean;
  trimAfterTranscription: TrimPolicy;
  /** GPU use this far above the post-load baseline, growing for `gpuGrowthChecks` checks in a row, counts as fragmentation. */
  gpuGrowthMb: number;
  gpuGrowthChecks: number;
  sessionMaxConcurrent: number;
  /** Requests over a session's concurrency that wait for a slot before the next is refused (429). */
  sessionMaxQueued: number;
  sessionMaxTempMb: number;
  sessionMax: number;
  sessionIdleTimeoutS: number;
  /** Sessions one client address may hold. */
  sessionMaxPerAddress: number;
  /** Requests one client address may run at once, whatever sessions they name. */
  addressMaxConcurrent: number;
  /** Upload bytes one client address may have in flight, whatever sessions they name. */
  addressMaxTempMb: number;
  /** Upload bytes all requests together may have staged in UPLOAD_DIR. */
  uploadMaxStagedMb: number;
  /** Free space UPLOAD_DIR's file system must keep: below it uploads are refused (507). */
  uploadMinFreeMb: number;
  /** An upload that sends nothing for this long is cut off (408). */
  uploadStallTimeoutS: number;
  /** Admit a transcription that needs a new whisper state only if memory plus its cost stays under the thresholds. */
  predictiveAdmission: boolean;
}
