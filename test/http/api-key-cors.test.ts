// API_KEY: the API wants `Authorization: Bearer KEY` (as OpenAI's clients send it) before a byte of
// an upload is read; health stays open. CORS_ORIGINS: browser apps on the listed origins may call
// the API, others get no CORS headers; without the setting no route answers CORS at all.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readServerConfig, SettingsError } from '../../src/server/index.js';
import { clip } from './helpers/audio.js';
import { listen, makeRoot, type HttpInstance, type Root } from './helpers/harness.js';

const API_KEY = 'sk-talk2me-test-0123456789abcdef';
const APP = 'https://app.example.com';

let root: Root;
let server: HttpInstance;

beforeAll(async () => {
  root = await makeRoot('api-key');
  server = await listen(root, 'api-key', { API_KEY, CORS_ORIGINS: `${APP}, http://localhost:3000` });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

describe('API_KEY', () => {
  it('lets the official client in with the key, and refuses it without one', async () => {
    const file = () => toFile(clip(1), 'a.wav', { type: 'audio/wav' });
    const good = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    expect(await good.audio.transcriptions.create({ file: await file(), model: 'whisper-1' })).toEqual({ text: expect.any(String) });
    expect((await good.models.list()).data).toHaveLength(1);
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong-key-0123456789abcdef', maxRetries: 0 });
    const err = await wrong.audio.transcriptions.create({ file: await file(), model: 'whisper-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(await wrong.models.list().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses every API route before reading the upload, and leaves health open', async () => {
    for (const path of ['/transcribe', '/v1/audio/transcriptions', '/v1/audio/translations', '/inference']) {
      const form = new FormData();
      form.append(path === '/transcribe' ? 'audio' : 'file', new Blob([clip(1)]), 'a.wav');
      const res = await fetch(`${server.url}${path}`, { method: 'POST', body: form, headers: { authorization: 'Bearer nope' } });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('API_KEY'), type: 'authentication_error', param: null } });
    }
    expect(await server.uploads()).toEqual([]);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('is refused at start-up when it is short enough to guess', () => {
    expect(() => readServerConfig({ API_KEY: 'short' })).toThrow(SettingsError);
  });
});

describe('CORS_ORIGINS', () => {
  it('answers a preflight from a listed origin, with the headers the API needs', async () => {
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, x-session-id' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });

  it('gives another origin no CORS headers, and a listed one its own on answers', async () => {
    const evil = await fetch(`${server.url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await fetch(`${server.url}/health`, { headers: { origin: APP } });
    expect(listed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(listed.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
  });
});

describe('without CORS_ORIGINS', () => {
  it('no route answers CORS', async () => {
    const plain = await listen(root, 'no-cors');
    try {
      const res = await fetch(`${plain.url}/v1/audio/transcriptions`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
