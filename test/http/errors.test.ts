// The one code → status table: talk2me's own errors reach clients with their code, server faults
// never show their message, and what a client can wait out carries Retry-After.
import { describe, expect, it } from 'vitest';

import { AudioDecodeError } from '../../src/audio/index.js';
import { HttpError, mapError } from '../../src/http/errors.js';
import { MemoryPressureError } from '../../src/memory/admission.js';
import { SessionLimitError } from '../../src/memory/sessions/index.js';
import { ModelDisposedError } from '../../src/model/host.js';
import { WhisperError } from '../../src/native/index.js';
import { Talk2meError } from '../../src/shared/errors.js';

describe('mapError', () => {
  it('maps each kind of client error by its code', () => {
    expect(mapError(new AudioDecodeError('AUDIO_TOO_LONG', 'too long'))).toMatchObject({ statusCode: 413, body: { error: { code: 'AUDIO_TOO_LONG', message: 'too long' } }, internal: false });
    expect(mapError(new WhisperError('INVALID_ARGUMENT', 'bad'))).toMatchObject({ statusCode: 400, internal: false });
    expect(mapError(new SessionLimitError('SESSION_CONCURRENCY_LIMIT', 'busy'))).toMatchObject({ statusCode: 429 });
    expect(mapError(new HttpError(415, 'UNSUPPORTED_CONTENT_TYPE', 'multipart please'))).toMatchObject({ statusCode: 415, body: { error: { code: 'UNSUPPORTED_CONTENT_TYPE' } } });
  });

  it('answers a shut-down model host with 503 and Retry-After, not 500', () => {
    expect(mapError(new ModelDisposedError())).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5' }, body: { error: { code: 'MODEL_DISPOSED' } }, internal: false });
  });

  it('tells an upload that can never fit its session (413) from one that must wait (429 with Retry-After)', () => {
    const never = new SessionLimitError('SESSION_TEMP_BYTES_LIMIT', 'too big', { limit: 100, requestedBytes: 200 });
    const later = new SessionLimitError('SESSION_TEMP_BYTES_LIMIT', 'wait', { limit: 100, requestedBytes: 50, retryAfterS: 30 });
    expect(mapError(never).statusCode).toBe(413);
    expect(mapError(later)).toMatchObject({ statusCode: 429, headers: { 'retry-after': '30' } });
    expect(mapError(new SessionLimitError('ADDRESS_TEMP_BYTES_LIMIT', 'never', { limit: 100, requestedBytes: 200 })).statusCode).toBe(413);
    expect(mapError(new SessionLimitError('ADDRESS_CONCURRENCY_LIMIT', 'wait', { limit: 8 })).statusCode).toBe(429);
  });

  it('answers a full service with 503 and a short Retry-After, full staging with 507 and its message', () => {
    expect(mapError(new SessionLimitError('SESSION_COUNT_LIMIT', 'all busy', { retryAfterS: 5 }))).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5' }, internal: false });
    expect(mapError(new SessionLimitError('STAGED_BYTES_LIMIT', 'staging full', { retryAfterS: 10 }))).toMatchObject({
      statusCode: 507,
      headers: { 'retry-after': '10' },
      body: { error: { code: 'STAGED_BYTES_LIMIT', message: 'staging full' } },
      internal: false,
    });
  });

  it('answers a transcription refused for memory with 503 MEMORY_PRESSURE, its message and its Retry-After', () => {
    expect(mapError(new MemoryPressureError('short of memory', 30))).toMatchObject({
      statusCode: 503,
      headers: { 'retry-after': '30' },
      body: { error: { code: 'MEMORY_PRESSURE', message: 'short of memory' } },
      internal: false,
    });
  });

  it('answers a write refused for space or quota (ENOSPC, EDQUOT) with 507 and Retry-After, not 500', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const err = Object.assign(new Error(`${code}: no space left on device, write`), { code, errno: -28, syscall: 'write' });
      const mapped = mapError(err);
      expect(mapped).toMatchObject({ statusCode: 507, body: { error: { code: 'INSUFFICIENT_STORAGE' } }, internal: false });
      expect(Number(mapped.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('hides the message of a server fault, whatever its class', () => {
    for (const err of [new WhisperError('TRANSCRIPTION_FAILED', 'failed reading /srv/models/secret.bin'), new Talk2meError('TEMP_DIR_UNSAFE', '/tmp/x is a symlink'), new Error('boom at /srv')]) {
      const mapped = mapError(err);
      expect(mapped).toMatchObject({ statusCode: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } }, internal: true });
    }
  });
});
