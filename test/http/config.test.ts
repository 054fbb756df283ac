// The server's settings: the measured concurrency and thread defaults, and TRUST_PROXY's forms and mistakes.
import { describe, expect, it } from 'vitest';

import { defaultConcurrency, readServerConfig, threadBudget } from '../../src/http/config.js';
import { SettingsError } from '../../src/memory/settings.js';

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
