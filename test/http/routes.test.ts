// The routes through app.inject: POST /transcribe in every format and with its fields, other
// containers through ffmpeg, GET /health and /ready (also while reloading, before the first load
// and while shutting down), and how requests are tied to sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildApp } from '../../src/http/app.js';
import { createServices, readServerConfig } from '../../src/server/index.js';
import { addressSessionId } from '../../src/http/session.js';
import { sessionTag } from '../../src/memory/sessions/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { syllableTones } from '../helpers/signals.js';
import { clip, convert, wav } from './helpers/audio.js';
import { errorCode, injectApp, makeRoot, testEnv, type InjectInstance, type Root } from './helpers/harness.js';
import { form, type FormValue } from './helpers/multipart.js';

let root: Root;
let server: InjectInstance;

beforeAll(async () => {
  root = await makeRoot('routes');
  // No waiting line per session: a request over the session's concurrency is refused at once.
  server = await injectApp(root, 'routes', { SESSION_MAX_CONCURRENT: '1', SESSION_MAX_QUEUED: '0', MAX_QUEUE: '8' });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

async function transcribe(fields: Array<[string, FormValue]>, headers: Record<string, string> = {}) {
  const body = await form(fields);
  return server.app.inject({ method: 'POST', url: '/transcribe', payload: body.payload, headers: { 'content-type': body.contentType, ...headers } });
}

const audio = (data: Buffer, filename = 'clip.wav'): [string, FormValue] => ['audio', { data, filename, type: 'audio/wav' }];
const srtCue = /^(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n.*\n/;
const seconds = (h: string, m: string, s: string, ms: string): number => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;

describe('POST /transcribe', () => {
  it('answers JSON by default: text, language, duration, processing time, segments inside the clip', async () => {
    const response = await transcribe([audio(clip(3))]);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const json = response.json();
    expect(json).toEqual({
      text: expect.any(String),
      language: 'en',
      duration_s: 3,
      processing_ms: expect.any(Number),
      segments: expect.any(Array),
    });
    expect(json.processing_ms).toBeGreaterThan(0);
    expect(json.segments.length).toBeGreaterThan(0);
    json.segments.forEach((s: { id: number; start: number; end: number; text: string; no_speech_prob: number }, i: number) => {
      expect(s).toEqual({ id: i, start: expect.any(Number), end: expect.any(Number), text: expect.any(String), no_speech_prob: expect.any(Number) });
      expect(s.start).toBeGreaterThanOrEqual(0);
      expect(s.end).toBeGreaterThanOrEqual(s.start);
      expect(s.end).toBeLessThanOrEqual(3);
    });
  });

  it('answers text, SRT and WebVTT with their content types', async () => {
    const text = await transcribe([audio(clip(2)), ['response_format', 'text']]);
    expect(text.statusCode, text.body).toBe(200);
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.body).toMatch(/^[^\n]*\n$/);

    const srt = await transcribe([audio(clip(2)), ['response_format', 'srt']]);
    expect(srt.statusCode, srt.body).toBe(200);
    expect(srt.headers['content-type']).toBe('application/x-subrip; charset=utf-8');
    const cue = srtCue.exec(srt.body);
    expect(cue, srt.body).not.toBeNull();
    const [, index, h1, m1, s1, ms1, h2, m2, s2, ms2] = cue as unknown as string[];
    expect(index).toBe('1');
    expect(seconds(h2!, m2!, s2!, ms2!)).toBeGreaterThanOrEqual(seconds(h1!, m1!, s1!, ms1!));
    expect(seconds(h2!, m2!, s2!, ms2!)).toBeLessThanOrEqual(2);

    const vtt = await transcribe([audio(clip(2)), ['response_format', 'vtt']]);
    expect(vtt.statusCode, vtt.body).toBe(200);
    expect(vtt.headers['content-type']).toBe('text/vtt; charset=utf-8');
    expect(vtt.body).toMatch(/^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n/);

    const json = await transcribe([audio(clip(2)), ['response_format', 'json']]);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.json()).toMatchObject({ duration_s: 2 });
  });

  it('passes language and translate to whisper', async () => {
    const en = await transcribe([audio(clip(2)), ['language', 'EN']]);
    expect(en.statusCode, en.body).toBe(200);
    expect(en.json().language).toBe('en');

    const auto = await transcribe([audio(clip(2)), ['language', 'auto']]);
    expect(auto.statusCode, auto.body).toBe(200);
    // An English-only model (the mini one is) detects nothing else.
    expect(auto.json().language).toBe('en');

    // whisper.cpp itself refuses a language it does not know: the field reaches it.
    const unknown = await transcribe([audio(clip(2)), ['language', 'qq']]);
    expect(unknown.statusCode).toBe(400);
    expect(errorCode(unknown.json())).toBe('INVALID_ARGUMENT');

    // A language the English-only model cannot do: a 400 that names no path of the server's.
    const body = await form([['file', { data: clip(1), filename: 'clip.wav', type: 'audio/wav' }], ['model', 'whisper-1'], ['language', 'haw']]);
    const haw = await server.app.inject({ method: 'POST', url: '/v1/audio/transcriptions', payload: body.payload, headers: { 'content-type': body.contentType } });
    expect(haw.statusCode, haw.body).toBe(400);
    expect(errorCode(haw.json())).toBe('INVALID_ARGUMENT');
    expect(haw.json().error.message).toMatch(/English-only/);
    expect(haw.body).not.toContain(root.path);

    for (const value of ['true', '0']) {
      const translated = await transcribe([audio(clip(2)), ['translate', value], ['response_format', 'text']]);
      expect(translated.statusCode, `translate=${value}: ${translated.body}`).toBe(200);
    }
  });

  it('decodes other containers with ffmpeg and resamples other rates', async () => {
    // webm/opus is what browsers' MediaRecorder sends; mp3 is what people upload.
    for (const ext of ['webm', 'mp3']) {
      const bytes = await convert(clip(2), ext, root.path);
      const response = await transcribe([audio(bytes, `clip.${ext}`)]);
      expect(response.statusCode, `${ext}: ${response.body}`).toBe(200);
      expect(response.json().duration_s).toBeGreaterThan(1.9);
      expect(response.json().duration_s).toBeLessThan(2.2);
    }
    const at44k = await transcribe([audio(wav(syllableTones(2, 44100), 44100))]);
    expect(at44k.statusCode, at44k.body).toBe(200);
    expect(at44k.json().duration_s).toBeCloseTo(2, 2);
    expect(await server.uploads()).toEqual([]);
  });
});

describe('GET /health and /ready', () => {
  it('/health answers while the process runs', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', uptime_s: expect.any(Number) });
  });

  it('/ready is 200 with the model loaded, 503 while it reloads and while shutting down', async () => {
    const ready = await server.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, model: 'ready' });

    const reload = server.services.model.recreate('test');
    const reloading = await server.app.inject({ method: 'GET', url: '/ready' });
    expect(reloading.statusCode).toBe(503);
    expect(reloading.json()).toEqual({ ready: false, model: 'reloading', reason: 'model reload draining' });
    expect(await reload).not.toBeNull();
    expect((await server.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);

    server.readiness.shuttingDown = true;
    try {
      const closing = await server.app.inject({ method: 'GET', url: '/ready' });
      expect(closing.statusCode).toBe(503);
      expect(closing.json()).toEqual({ ready: false, model: 'ready', reason: 'shutting down' });
      // Liveness is another question: the process still answers.
      expect((await server.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      server.readiness.shuttingDown = false;
    }
  });

  it('/ready is 503 until the model has loaded for the first time', async () => {
    const config = readServerConfig(testEnv(root, 'routes-cold'));
    const services = await createServices(config, silentLogger);
    const app = await buildApp({ services });
    try {
      const cold = await app.inject({ method: 'GET', url: '/ready' });
      expect(cold.statusCode).toBe(503);
      expect(cold.json()).toEqual({ ready: false, model: 'unloaded', reason: 'unloaded' });
      await services.model.acquire();
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
    expect(services.model.state).toBe('disposed');
  });
});

describe('sessions', () => {
  it('keys a request that names no session by its address, offers a cookie, and keeps the id it is given', async () => {
    const { sessions } = server.services;
    const tags = () => new Set(sessions.list().map((s) => s.tag));
    const addressTag = sessionTag(addressSessionId('127.0.0.1'));

    const first = await transcribe([audio(clip(1))]);
    expect(first.statusCode, first.body).toBe(200);
    const cookie = first.headers['set-cookie'];
    expect(cookie).toMatch(/^talk2me_session=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
    const id = /^talk2me_session=([^;]+)/.exec(String(cookie))![1]!;
    expect(tags()).toContain(addressTag);

    // A client that keeps no cookie (curl, the OpenAI SDK) creates no session per request.
    const active = sessions.stats().active;
    for (let i = 0; i < 3; i++) expect((await transcribe([audio(clip(1))])).statusCode).toBe(200);
    expect(sessions.stats().active).toBe(active);
    expect(tags()).not.toContain(sessionTag(id));

    // Another address has a session of its own.
    const elsewhere = await form([audio(clip(1))]);
    const fromElsewhere = await server.app.inject({
      method: 'POST',
      url: '/transcribe',
      payload: elsewhere.payload,
      headers: { 'content-type': elsewhere.contentType },
      remoteAddress: '192.0.2.7',
    });
    expect(fromElsewhere.statusCode, fromElsewhere.body).toBe(200);
    expect(tags()).toContain(sessionTag(addressSessionId('192.0.2.7')));

    // The cookie sent back is the session from then on (a browser).
    const again = await transcribe([audio(clip(1))], { cookie: `other=1; talk2me_session=${id}` });
    expect(again.statusCode).toBe(200);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(tags()).toContain(sessionTag(id));

    const byHeader = await transcribe([audio(clip(1))], { 'x-session-id': 'client-chosen-id_1' });
    expect(byHeader.statusCode).toBe(200);
    expect(byHeader.headers['set-cookie']).toBeUndefined();
    expect(tags()).toContain(sessionTag('client-chosen-id_1'));
  });

  it('reads the client address from X-Forwarded-For only behind a trusted proxy', async () => {
    const forwarded = async (instance: InjectInstance) => {
      const body = await form([audio(clip(1))]);
      const response = await instance.app.inject({
        method: 'POST',
        url: '/transcribe',
        payload: body.payload,
        headers: { 'content-type': body.contentType, 'x-forwarded-for': '203.0.113.9' },
      });
      expect(response.statusCode, response.body).toBe(200);
      return instance.services.sessions.list().map((s) => s.tag);
    };
    const client = sessionTag(addressSessionId('203.0.113.9'));
    const proxy = sessionTag(addressSessionId('127.0.0.1'));
    const behindProxy = await injectApp(root, 'trusted-proxy', { TRUST_PROXY: '127.0.0.1' });
    const oneHop = await injectApp(root, 'one-hop', { TRUST_PROXY: '1' });
    const direct = await injectApp(root, 'untrusted-proxy');
    try {
      expect(await forwarded(behindProxy)).toEqual([client]);
      expect(await forwarded(oneHop)).toEqual([client]);
      expect(await forwarded(direct)).toEqual([proxy]);
    } finally {
      await behindProxy.close();
      await oneHop.close();
      await direct.close();
    }
  });

  it('with no waiting line, refuses a request over SESSION_MAX_CONCURRENT for one session with 429 and Retry-After, not another session', async () => {
    const headers = { 'x-session-id': 'busy-session' };
    const [a, b, other] = await Promise.all([
      transcribe([audio(clip(3))], headers),
      transcribe([audio(clip(3))], headers),
      transcribe([audio(clip(3))], { 'x-session-id': 'another-session' }),
    ]);
    const statuses = [a.statusCode, b.statusCode].sort();
    expect(statuses).toEqual([200, 429]);
    const refused = a.statusCode === 429 ? a : b;
    expect(errorCode(refused.json())).toBe('SESSION_CONCURRENCY_LIMIT');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(other.statusCode, other.body).toBe(200);
    // The session's slot is free again once its request is over.
    expect((await transcribe([audio(clip(1))], headers)).statusCode).toBe(200);
    expect(server.services.sessions.stats()).toMatchObject({ inflight: 0, tempBytes: 0 });
    expect(await server.uploads()).toEqual([]);
  });
});
