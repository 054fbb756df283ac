// A request's time limit follows its audio: REQUEST_TIMEOUT_S alone would cut off a clip that
// MAX_AUDIO_S allows; once decoded, each second of audio adds REQUEST_TIMEOUT_PER_AUDIO_S.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { errorCode, injectApp, makeRoot, type InjectInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';

let root: Root;

beforeAll(async () => {
  root = await makeRoot('request-timeout');
});

afterAll(async () => {
  await root?.remove();
});

async function transcribe(server: InjectInstance, seconds: number) {
  const body = await form([['audio', { data: clip(seconds), filename: 'long.wav', type: 'audio/wav' }]]);
  const response = await server.app.inject({ method: 'POST', url: '/transcribe', payload: body.payload, headers: { 'content-type': body.contentType } });
  return { status: response.statusCode, body: response.body, json: () => response.json() };
}

// Long enough that transcribing it on one thread takes well over the base limit of 1 s.
const LONG_S = 45;

describe('the request time limit', () => {
  it('grows with the audio, so a long clip is not cut by the short base limit', async () => {
    const server = await injectApp(root, 'grows', { REQUEST_TIMEOUT_S: '1', REQUEST_TIMEOUT_PER_AUDIO_S: '2', WHISPER_THREADS: '1', MAX_AUDIO_S: '600' });
    try {
      const answer = await transcribe(server, LONG_S);
      expect(answer.status, answer.body).toBe(200);
      expect(answer.json().duration_s).toBe(LONG_S);
      // It did need more than the base limit.
      expect(answer.json().processing_ms).toBeGreaterThan(1000);
    } finally {
      await server.close();
    }
  });

  it('is the base alone when audio adds nothing, and then cuts the same clip off with 504', async () => {
    const server = await injectApp(root, 'base', { REQUEST_TIMEOUT_S: '1', REQUEST_TIMEOUT_PER_AUDIO_S: '0', WHISPER_THREADS: '1', MAX_AUDIO_S: '600' });
    try {
      const answer = await transcribe(server, LONG_S);
      expect(answer.status, answer.body).toBe(504);
      expect(errorCode(answer.json())).toBe('REQUEST_TIMEOUT');
      expect(answer.json().error.message).toMatch(/longer than 1 s/);
    } finally {
      await server.close();
    }
  });

  it('names the limit it applied', async () => {
    // 1 s + 0.005 s × 120 s = 1.6 s, for a clip that takes about three times as long to transcribe
    // (45 s of it may take under 1.9 s on a quiet machine).
    const server = await injectApp(root, 'named', { REQUEST_TIMEOUT_S: '1', REQUEST_TIMEOUT_PER_AUDIO_S: '0.005', WHISPER_THREADS: '1', MAX_AUDIO_S: '600' });
    try {
      const answer = await transcribe(server, 120);
      expect(answer.status, answer.body).toBe(504);
      expect(answer.json().error.message).toMatch(/longer than 1\.6 s/);
    } finally {
      await server.close();
    }
  });
});
