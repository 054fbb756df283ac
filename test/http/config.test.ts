// The server's settings: the measured concurrency default, and TRUST_PROXY's forms and mistakes.
import { describe, expect, it } from 'vitest';

import { defaultConcurrency, defaultThreads, readServerConfig } from '../../src/http/config.js';
import { SettingsError } from '../../src/memory/settings.js';

describe('MAX_CONCURRENCY and WHISPER_THREADS defaults', () => {
  it('give one whisper state per two cores, 1 to 4, and share the cores among them', () => {
    const split = (cores: number) => {
      const concurrency = defaultConcurrency(cores);
      return [concurrency, defaultThreads(concurrency, cores)];
    };
    expect(split(1)).toEqual([1, 1]);
    expect(split(2)).toEqual([1, 2]);
    expect(split(3)).toEqual([1, 3]);
    expect(split(4)).toEqual([2, 2]);
    expect(split(8)).toEqual([4, 2]);
    expect(split(64)).toEqual([4, 16]);
  });

  it('take what is given instead', () => {
    const config = readServerConfig({ MAX_CONCURRENCY: '3' }, { 'WHISPER_THREADS': '5' });
    expect(config).toMatchObject({ maxConcurrency: 3, whisperThreads: 5 });
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
