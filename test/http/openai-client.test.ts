// The official `openai` client against a running server over real HTTP: transcriptions in every
// response format, translations, and errors the client understands.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { listen, makeRoot, type HttpInstance, type Root } from './helpers/harness.js';

let root: Root;
let server: HttpInstance;
let client: OpenAI;

beforeAll(async () => {
  root = await makeRoot('openai');
  server = await listen(root, 'openai');
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

const file = () => toFile(clip(2), 'a.wav', { type: 'audio/wav' });
const srt = /^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/;
const vtt = /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n/;

describe('openai client: audio.transcriptions', () => {
  it('json (the default) is { text }', async () => {
    const result = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1' });
    expect(result).toEqual({ text: expect.any(String) });
  });

  it('json, with language, prompt and temperature', async () => {
    const result = await client.audio.transcriptions.create({
      file: await file(),
      model: 'whisper-1',
      response_format: 'json',
      language: 'en',
      prompt: 'Names: Ada, Grace.',
      temperature: 0.2,
    });
    expect(result).toEqual({ text: expect.any(String) });
  });

  it('text is the transcript as a string', async () => {
    const result: string = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'text' });
    expect(typeof result).toBe('string');
    expect(result).not.toMatch(/^\{/);
  });

  it('srt and vtt are subtitle files', async () => {
    const subrip: string = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'srt' });
    expect(subrip).toMatch(srt);
    const webvtt: string = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'vtt' });
    expect(webvtt).toMatch(vtt);
  });

  it('verbose_json with segment timestamps has OpenAI\'s shape', async () => {
    const result = await client.audio.transcriptions.create({
      file: await file(),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment'],
    });
    expect(result).toMatchObject({ task: 'transcribe', language: 'english', duration: 2, text: expect.any(String) });
    expect(result.segments?.length).toBeGreaterThan(0);
    result.segments!.forEach((segment, i) => {
      // Only values the decode reports; none invented (seek, tokens, temperature, avg_logprob and
      // compression_ratio are not known, so they are absent rather than 0 or []).
      expect(segment).toEqual({
        id: i,
        start: expect.any(Number),
        end: expect.any(Number),
        text: expect.any(String),
        no_speech_prob: expect.any(Number),
      });
      expect(segment.start).toBeGreaterThanOrEqual(0);
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      expect(segment.end).toBeLessThanOrEqual(2);
    });
  });

  it('a refused request is an APIError with the status and the code', async () => {
    const err = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', language: 'klingon' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    // OpenAI's own fields too, so the SDK (and what a UI shows from it) names the field at fault.
    expect(err).toMatchObject({ status: 400, code: 'INVALID_PARAMETER', type: 'invalid_request_error', param: 'language' });
    const words = await client.audio.transcriptions
      .create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] })
      .catch((e: unknown) => e);
    expect(words).toMatchObject({ status: 400, code: 'UNSUPPORTED_PARAMETER' });
  });
});

describe('openai client: audio.translations', () => {
  it('json is { text }, verbose_json says task "translate"', async () => {
    const result = await client.audio.translations.create({ file: await file(), model: 'whisper-1' });
    expect(result).toEqual({ text: expect.any(String) });
    const verbose = await client.audio.translations.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json' });
    expect(verbose).toMatchObject({ task: 'translate', duration: 2, text: expect.any(String), segments: expect.any(Array) });
    // The SDK types a translation as an object whatever the format; with text it is the body as a string.
    const text: unknown = await client.audio.translations.create({ file: await file(), model: 'whisper-1', response_format: 'text' });
    expect(typeof text).toBe('string');
  });

  it('left no temp file behind', async () => {
    expect(await server.uploads()).toEqual([]);
  });
});
