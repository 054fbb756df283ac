// The official `openai` client against a running server over real HTTP: transcriptions in every
// response format, translations, and errors the client understands. On the speech-like synthetic
// model: the decoder emits 12 words per 5 s segment, as speech makes it, so word timestamps are
// checked word for word.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SPEECHLIKE_TOKENS_PER_SEGMENT } from '../../src/model/speechlike.js';
import { clip } from './helpers/audio.js';
import { listen, makeRoot, type HttpInstance, type Root } from './helpers/harness.js';

let root: Root;
let server: HttpInstance;
let client: OpenAI;

beforeAll(async () => {
  root = await makeRoot('openai', { decoder: 'speechlike' });
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
      // The values the decode reports; seek and temperature are not reported per segment by
      // whisper.cpp, so they are absent rather than made up.
      expect(segment).toEqual({
        id: i,
        start: expect.any(Number),
        end: expect.any(Number),
        text: expect.any(String),
        tokens: expect.any(Array),
        avg_logprob: expect.any(Number),
        compression_ratio: expect.any(Number),
        no_speech_prob: expect.any(Number),
      });
      expect(segment.start).toBeGreaterThanOrEqual(0);
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      expect(segment.end).toBeLessThanOrEqual(2);
      expect(segment.tokens.length).toBeGreaterThan(0);
      for (const token of segment.tokens) expect(Number.isInteger(token)).toBe(true);
      expect(segment.avg_logprob).toBeLessThanOrEqual(0);
      expect(segment.compression_ratio).toBeGreaterThan(0);
    });
    expect(result.words).toBeUndefined();
  });

  it('verbose_json with word timestamps has words inside the segments, in order', async () => {
    for (const timestamp_granularities of [['word'], ['word', 'segment']] as const) {
      const result = await client.audio.transcriptions.create({
        file: await file(),
        model: 'whisper-1',
        response_format: 'verbose_json',
        timestamp_granularities: [...timestamp_granularities],
      });
      // A 2 s clip: one segment of 12 words, every one of them timed.
      expect(result.segments).toHaveLength(1);
      expect(result.words).toHaveLength(SPEECHLIKE_TOKENS_PER_SEGMENT);
      expect(result.words!.map((w) => w.word).join(' ')).toBe(result.text.trim());
      let previousStart = 0;
      for (const word of result.words!) {
        expect(word).toEqual({ word: expect.stringMatching(/^\S/), start: expect.any(Number), end: expect.any(Number) });
        expect(word.start).toBeGreaterThanOrEqual(previousStart);
        expect(word.end).toBeGreaterThanOrEqual(word.start);
        expect(result.segments!.some((s) => s.start <= word.start && word.end <= s.end)).toBe(true);
        previousStart = word.start;
      }
    }
  });

  it('a refused request is an APIError with the status and the code', async () => {
    const err = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', language: 'klingon' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    // OpenAI's own fields too, so the SDK (and what a UI shows from it) names the field at fault.
    expect(err).toMatchObject({ status: 400, code: 'INVALID_PARAMETER', type: 'invalid_request_error', param: 'language' });
    // As OpenAI says: timestamp granularities need verbose_json.
    const words = await client.audio.transcriptions
      .create({ file: await file(), model: 'whisper-1', response_format: 'json', timestamp_granularities: ['word'] })
      .catch((e: unknown) => e);
    expect(words).toMatchObject({ status: 400, code: 'INVALID_PARAMETER' });
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
