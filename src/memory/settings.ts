// The memory manager's settings, read from the environment. A bad value stops start-up with a
// message naming the variable, what it takes and what it got.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TRIM_POLICIES, type TrimPolicy } from '../model/host.js';

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
  sessionMaxTempMb: number;
  sessionMax: number;
  sessionIdleTimeoutS: number;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

interface NumberSpec {
  key: keyof MemorySettings;
  env: string;
  fallback: number;
  min: number;
  max: number;
  integer?: boolean;
}

const NUMBERS: NumberSpec[] = [
  { key: 'memoryThresholdMb', env: 'MEMORY_THRESHOLD_MB', fallback: 4096, min: 64, max: 1 << 24 },
  { key: 'gpuMemoryThresholdMb', env: 'GPU_MEMORY_THRESHOLD_MB', fallback: 2048, min: 64, max: 1 << 24 },
  { key: 'cleanupIntervalS', env: 'CLEANUP_INTERVAL_S', fallback: 30, min: 1, max: 86_400 },
  { key: 'statsLogIntervalS', env: 'STATS_LOG_INTERVAL_S', fallback: 300, min: 1, max: 86_400 },
  { key: 'tempFileMaxAgeS', env: 'TEMP_FILE_MAX_AGE_S', fallback: 300, min: 1, max: 7 * 86_400 },
  { key: 'tempFileMaxAgeAggressiveS', env: 'TEMP_FILE_MAX_AGE_AGGRESSIVE_S', fallback: 60, min: 1, max: 7 * 86_400 },
  { key: 'modelReloadMinIntervalS', env: 'MODEL_RELOAD_MIN_INTERVAL_S', fallback: 300, min: 0, max: 7 * 86_400 },
  { key: 'modelIdleUnloadS', env: 'MODEL_IDLE_UNLOAD_S', fallback: 0, min: 0, max: 30 * 86_400 },
  { key: 'gpuGrowthMb', env: 'GPU_GROWTH_MB', fallback: 256, min: 1, max: 1 << 24 },
  { key: 'gpuGrowthChecks', env: 'GPU_GROWTH_CHECKS', fallback: 3, min: 1, max: 1000, integer: true },
  { key: 'sessionMaxConcurrent', env: 'SESSION_MAX_CONCURRENT', fallback: 2, min: 1, max: 1000, integer: true },
  { key: 'sessionMaxTempMb', env: 'SESSION_MAX_TEMP_MB', fallback: 100, min: 1, max: 1 << 20 },
  { key: 'sessionMax', env: 'SESSION_MAX', fallback: 1000, min: 1, max: 1_000_000, integer: true },
  { key: 'sessionIdleTimeoutS', env: 'SESSION_IDLE_TIMEOUT_S', fallback: 1800, min: 1, max: 30 * 86_400 },
];

function readNumber(env: NodeJS.ProcessEnv, spec: NumberSpec): number {
  const raw = env[spec.env];
  if (raw === undefined || raw.trim() === '') return spec.fallback;
  const value = Number(raw);
  const kind = spec.integer ? 'an integer' : 'a number';
  if (!Number.isFinite(value) || value < spec.min || value > spec.max || (spec.integer && !Number.isInteger(value))) {
    throw new SettingsError(`Expected ${kind} between ${spec.min} and ${spec.max} for ${spec.env} but received "${raw}"`);
  }
  return value;
}

function readBoolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return false;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new SettingsError(`Expected true or false for ${name} but received "${env[name]}"`);
}

function readTrimPolicy(env: NodeJS.ProcessEnv): TrimPolicy {
  const raw = env.TRIM_AFTER_TRANSCRIPTION?.trim();
  if (raw === undefined || raw === '') return 'never';
  if (!(TRIM_POLICIES as readonly string[]).includes(raw)) {
    throw new SettingsError(`Expected ${TRIM_POLICIES.join(', ')} for TRIM_AFTER_TRANSCRIPTION but received "${raw}"`);
  }
  return raw as TrimPolicy;
}

export function defaultUploadDir(): string {
  return join(tmpdir(), 'talk2me-uploads');
}

export function readMemorySettings(env: NodeJS.ProcessEnv = process.env): MemorySettings {
  const numbers = Object.fromEntries(NUMBERS.map((spec) => [spec.key, readNumber(env, spec)])) as Record<string, number>;
  const settings = {
    ...numbers,
    uploadDir: env.UPLOAD_DIR?.trim() || defaultUploadDir(),
    debugMemory: readBoolean(env, 'DEBUG_MEMORY'),
    trimAfterTranscription: readTrimPolicy(env),
  } as MemorySettings;
  if (settings.tempFileMaxAgeAggressiveS > settings.tempFileMaxAgeS) {
    throw new SettingsError(
      `Expected TEMP_FILE_MAX_AGE_AGGRESSIVE_S (${settings.tempFileMaxAgeAggressiveS}) to be at most TEMP_FILE_MAX_AGE_S (${settings.tempFileMaxAgeS})`,
    );
  }
  return settings;
}

/** The documented defaults (no environment). */
export function defaultMemorySettings(): MemorySettings {
  return readMemorySettings({});
}
