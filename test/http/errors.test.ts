// The one code → status table: talk2me's own errors reach clients with their code, server faults
// never show their message, and what a client can wait out carries Retry-After.
import { describe, expect, it } from 'vitest';

import { AudioDecodeError } from '../../src/audio/index.js';
import { HttpError, mapError } from '../../src/http/errors.js';
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
    const later = new SessionLimitError('SESSION_COUNT_LIMIT', 'full', { retryAfterS: 30 });
    expect(mapError(never).statusCode).toBe(413);
    expect(mapError(later)).toMatchObject({ statusCode: 429, headers: { 'retry-after': '30' } });
  });

  it('hides the message of a server fault, whatever its class', () => {
    for (const err of [new WhisperError('TRANSCRIPTION_FAILED', 'failed reading /srv/models/secret.bin'), new Talk2meError('TEMP_DIR_UNSAFE', '/tmp/x is a symlink'), new Error('boom at /srv')]) {
      const mapped = mapError(err);
      expect(mapped).toMatchObject({ statusCode: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } }, internal: true });
    }
  });
});
