import { describe, expect, it } from 'vitest';

import { defaultUploadDir, readMemorySettings, SettingsError } from '../../src/memory/settings.js';

describe('memory settings', () => {
  it('default to the documented values', () => {
    expect(readMemorySettings({})).toEqual({
      memoryThresholdMb: 4096,
      gpuMemoryThresholdMb: 2048,
      cleanupIntervalS: 30,
      statsLogIntervalS: 300,
      tempFileMaxAgeS: 300,
      tempFileMaxAgeAggressiveS: 60,
      modelReloadMinIntervalS: 300,
      modelIdleUnloadS: 0,
      uploadDir: defaultUploadDir(),
      debugMemory: false,
      trimAfterTranscription: 'never',
      gpuGrowthMb: 256,
      gpuGrowthChecks: 3,
      sessionMaxConcurrent: 2,
      sessionMaxTempMb: 100,
      sessionMax: 1000,
      sessionIdleTimeoutS: 1800,
    });
  });

  it('read the environment', () => {
    const s = readMemorySettings({
      MEMORY_THRESHOLD_MB: '2048',
      CLEANUP_INTERVAL_S: '5',
      MODEL_IDLE_UNLOAD_S: '600',
      UPLOAD_DIR: '/var/tmp/t2m',
      DEBUG_MEMORY: 'true',
      TRIM_AFTER_TRANSCRIPTION: 'idle',
    });
    expect(s).toMatchObject({ memoryThresholdMb: 2048, cleanupIntervalS: 5, modelIdleUnloadS: 600, uploadDir: '/var/tmp/t2m', debugMemory: true, trimAfterTranscription: 'idle' });
  });

  it('refuse bad values with a message naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ MEMORY_THRESHOLD_MB: 'lots' }, /Expected a number between 64 and \d+ for MEMORY_THRESHOLD_MB but received "lots"/],
      [{ CLEANUP_INTERVAL_S: '0' }, /CLEANUP_INTERVAL_S but received "0"/],
      [{ GPU_GROWTH_CHECKS: '2.5' }, /Expected an integer .* GPU_GROWTH_CHECKS/],
      [{ DEBUG_MEMORY: 'maybe' }, /Expected true or false for DEBUG_MEMORY but received "maybe"/],
      [{ TRIM_AFTER_TRANSCRIPTION: 'sometimes' }, /Expected never, idle, always for TRIM_AFTER_TRANSCRIPTION/],
      [{ TEMP_FILE_MAX_AGE_S: '30', TEMP_FILE_MAX_AGE_AGGRESSIVE_S: '60' }, /TEMP_FILE_MAX_AGE_AGGRESSIVE_S \(60\) to be at most TEMP_FILE_MAX_AGE_S \(30\)/],
    ];
    for (const [env, message] of cases) {
      expect(() => readMemorySettings(env)).toThrow(SettingsError);
      expect(() => readMemorySettings(env)).toThrow(message);
    }
  });
});
