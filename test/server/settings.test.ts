// The settings table: the measured concurrency and thread defaults, TRUST_PROXY's forms and mistakes,
// and the memory manager's settings.
import { describe, expect, it } from 'vitest';

import { defaultConcurrency, defaultDecodeConcurrency, defaultUploadDir, readMemorySettings, readServerConfig, SettingsError, threadBudget } from '../../src/server/index.js';

describe('MAX_CONCURRENCY and WHISPER_THREADS defaults', () => {
  it('allow one whisper state per core up to 4, and share the cores instead of fixing threads', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultConcurrency(cores))).toEqual([1, 2, 3, 4, 4, 4]);
    expect([1, 2, 16].map((cores) => threadBudget(cores))).toEqual([1, 2, 16]);
    expect(readServerConfig({}).whisperThreads).toBeNull();
    expect(readServerConfig({ WHISPER_THREADS: ' ' }).whisperThreads).toBeNull();
  });

  it('take what is given instead', () => {
    const config = readServerConfig({ MAX_CONCURRENCY: '3' }, { WHISPER_THREADS: '5' });
    expect(config).toMatchObject({ maxConcurrency: 3, whisperThreads: 5 });
    expect(() => readServerConfig({ WHISPER_THREADS: '0' })).toThrow(/Expected an integer between 1 and 256 for WHISPER_THREADS/);
  });
});

describe('decoding settings', () => {
  it('decode half the cores at once, at least two, for at most a minute each, with ffmpeg from PATH', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultDecodeConcurrency(cores))).toEqual([2, 2, 2, 2, 8]);
    expect(readServerConfig({})).toMatchObject({ decodeConcurrency: defaultDecodeConcurrency(), decodeTimeoutS: 60, ffmpegPath: 'ffmpeg' });
    expect(readServerConfig({ DECODE_CONCURRENCY: '3', DECODE_TIMEOUT_S: '5', FFMPEG_PATH: '/opt/ffmpeg/bin/ffmpeg' })).toMatchObject({
      decodeConcurrency: 3,
      decodeTimeoutS: 5,
      ffmpegPath: '/opt/ffmpeg/bin/ffmpeg',
    });
    expect(() => readServerConfig({ DECODE_TIMEOUT_S: '0' })).toThrow(/DECODE_TIMEOUT_S \(--decode-timeout-s\)/);
  });
});

describe('TRUST_PROXY', () => {
  const trustProxy = (value: string | undefined) => readServerConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy;

  it('is off unless set, and takes true, a hop count or addresses and CIDRs', () => {
    expect(trustProxy(undefined)).toBe(false);
    expect(trustProxy('false')).toBe(false);
    expect(trustProxy('0')).toBe(false);
    expect(trustProxy('true')).toBe(true);
    expect(trustProxy('2')).toBe(2);
    expect(trustProxy('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(trustProxy(' 10.0.0.0/8, ::1 ,fd00::/8')).toEqual(['10.0.0.0/8', '::1', 'fd00::/8']);
  });

  it.each(['yes', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', 'localhost', '127.0.0.1,', '99'])('refuses %j naming the setting', (value) => {
    expect(() => trustProxy(value)).toThrow(SettingsError);
    expect(() => trustProxy(value)).toThrow(/TRUST_PROXY \(--trust-proxy\)/);
  });
});

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
      sessionMaxQueued: 8,
      sessionMaxTempMb: 100,
      sessionMax: 1000,
      sessionIdleTimeoutS: 1800,
      sessionMaxPerAddress: 16,
      addressMaxConcurrent: 8,
      addressMaxTempMb: 400,
      uploadMaxStagedMb: 1024,
      uploadMinFreeMb: 256,
      uploadStallTimeoutS: 30,
      predictiveAdmission: true,
    });
  });

  it('derive the per-address limits from the per-session ones unless given', () => {
    expect(readMemorySettings({ SESSION_MAX_CONCURRENT: '3', SESSION_MAX_TEMP_MB: '10' })).toMatchObject({ addressMaxConcurrent: 12, addressMaxTempMb: 40 });
    expect(readMemorySettings({ SESSION_MAX_CONCURRENT: '3', ADDRESS_MAX_CONCURRENT: '5', ADDRESS_MAX_TEMP_MB: '7.5' })).toMatchObject({ addressMaxConcurrent: 5, addressMaxTempMb: 7.5 });
  });

  it('read the environment', () => {
    const s = readMemorySettings({
      MEMORY_THRESHOLD_MB: '2048',
      CLEANUP_INTERVAL_S: '5',
      MODEL_IDLE_UNLOAD_S: '600',
      UPLOAD_DIR: '/var/tmp/t2m',
      DEBUG_MEMORY: 'true',
      TRIM_AFTER_TRANSCRIPTION: 'idle',
      PREDICTIVE_ADMISSION: 'off',
    });
    expect(s).toMatchObject({ memoryThresholdMb: 2048, cleanupIntervalS: 5, modelIdleUnloadS: 600, uploadDir: '/var/tmp/t2m', debugMemory: true, trimAfterTranscription: 'idle', predictiveAdmission: false });
  });

  it('refuse bad values with a message naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ MEMORY_THRESHOLD_MB: 'lots' }, /Expected a number between 64 and \d+ for MEMORY_THRESHOLD_MB \(--memory-threshold-mb\) but received "lots"/],
      [{ CLEANUP_INTERVAL_S: '0' }, /CLEANUP_INTERVAL_S \(--cleanup-interval-s\) but received "0"/],
      [{ GPU_GROWTH_CHECKS: '2.5' }, /Expected an integer .* GPU_GROWTH_CHECKS/],
      [{ DEBUG_MEMORY: 'maybe' }, /Expected true or false for DEBUG_MEMORY \(--debug-memory\) but received "maybe"/],
      [{ TRIM_AFTER_TRANSCRIPTION: 'sometimes' }, /Expected never, idle, always for TRIM_AFTER_TRANSCRIPTION/],
      [{ TEMP_FILE_MAX_AGE_S: '30', TEMP_FILE_MAX_AGE_AGGRESSIVE_S: '60' }, /TEMP_FILE_MAX_AGE_AGGRESSIVE_S \(60\) to be at most TEMP_FILE_MAX_AGE_S \(30\)/],
    ];
    for (const [env, message] of cases) {
      expect(() => readMemorySettings(env)).toThrow(SettingsError);
      expect(() => readMemorySettings(env)).toThrow(message);
    }
  });

  it('refuse a path with a control character in every path setting', () => {
    for (const name of ['WHISPER_MODEL', 'LOG_FILE', 'WEB_ROOT', 'UPLOAD_DIR']) {
      for (const value of ['models/a\u0000b.bin', 'logs/a\nforged line', '/tmp/\u001b[2Jx']) {
        expect(() => readServerConfig({ [name]: value }), `${name}=${JSON.stringify(value)}`).toThrow(SettingsError);
        expect(() => readServerConfig({ [name]: value })).toThrow(new RegExp(`without NUL or other control characters for ${name}`));
      }
    }
  });
});
