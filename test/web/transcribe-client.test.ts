// The upload rule: short clips as WAV, long ones as recorded, WAV again when the server cannot
// decode the recording; server errors become messages for people. A fake fetch records what the
// page would send (the real server is in page-in-chromium.test.ts).
import { describe, expect, it, vi } from 'vitest';

import { transcribe, UploadError, WAV_UP_TO_MS } from '../../web/src/transcribe-client.js';

const RESULT = { text: ' hello', segments: [], language: 'en', duration_s: 1.5, processing_ms: 120 };

interface Sent {
  url: string;
  audio: File;
  language: string | null;
  translate: string | null;
}

function fakeFetch(...answers: Response[]) {
  const sent: Sent[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const form = init?.body as FormData;
    sent.push({ url: String(url), audio: form.get('audio') as File, language: form.get('language') as string | null, translate: form.get('translate') as string | null });
    const answer = answers.shift();
    if (!answer) throw new Error('no more answers');
    return answer;
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, sent };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const webm = new Blob([new Uint8Array(1000)], { type: 'audio/webm;codecs=opus' });
const wavOf = async (): Promise<Blob> => new Blob([new Uint8Array(7600)], { type: 'audio/wav' });

describe('transcribe', () => {
  it('sends a short clip as WAV in the multipart field "audio", with the language', async () => {
    const { fetch, sent } = fakeFetch(json(RESULT));
    const toWav = vi.fn(wavOf);
    const outcome = await transcribe(webm, { fetch, toWav, durationMs: WAV_UP_TO_MS, language: 'de' });
    expect(outcome).toEqual({ ...RESULT, uploadedBytes: 7600, sent: 'wav' });
    expect(toWav).toHaveBeenCalledWith(webm);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe('transcribe');
    expect(sent[0]?.audio.name).toBe('clip.wav');
    expect(sent[0]?.audio.size).toBe(7600);
    expect(sent[0]?.language).toBe('de');
    expect(sent[0]?.translate).toBeNull();
  });

  it('a chosen file goes as it is, under its own name, with the translate flag', async () => {
    const { fetch, sent } = fakeFetch(json(RESULT));
    const toWav = vi.fn(wavOf);
    const file = new File([new Uint8Array(2000)], 'interview.mp3', { type: 'audio/mpeg' });
    const outcome = await transcribe(file, { fetch, toWav, language: 'auto', translate: true });
    expect(outcome.sent).toBe('recorded');
    expect(toWav).not.toHaveBeenCalled();
    expect(sent[0]?.audio.name).toBe('interview.mp3');
    expect(sent[0]?.language).toBe('auto');
    expect(sent[0]?.translate).toBe('true');
  });

  it('sends a long clip as recorded', async () => {
    const { fetch, sent } = fakeFetch(json(RESULT));
    const toWav = vi.fn(wavOf);
    const outcome = await transcribe(webm, { fetch, toWav, durationMs: WAV_UP_TO_MS + 1 });
    expect(outcome.sent).toBe('recorded');
    expect(outcome.uploadedBytes).toBe(1000);
    expect(toWav).not.toHaveBeenCalled();
    expect(sent[0]?.audio.name).toBe('clip.webm');
    expect(sent[0]?.language).toBeNull();
  });

  it('a short clip the browser cannot convert goes as recorded', async () => {
    const { fetch, sent } = fakeFetch(json(RESULT));
    const outcome = await transcribe(webm, { fetch, durationMs: 1000, toWav: () => Promise.reject(new Error('EncodingError')) });
    expect(outcome.sent).toBe('recorded');
    expect(sent).toHaveLength(1);
  });

  it('when the server cannot decode the recording (415, no ffmpeg), converts it and sends it once more', async () => {
    const { fetch, sent } = fakeFetch(
      json({ error: { code: 'AUDIO_UNSUPPORTED_FORMAT', message: 'ffmpeg is needed' } }, 415),
      json(RESULT),
    );
    const outcome = await transcribe(webm, { fetch, toWav: wavOf, durationMs: 60_000 });
    expect(outcome.sent).toBe('wav');
    expect(sent.map((s) => s.audio.name)).toEqual(['clip.webm', 'clip.wav']);
  });

  it("turns the server's error body into an UploadError with its code and a sentence for people", async () => {
    const { fetch } = fakeFetch(json({ error: { code: 'QUEUE_FULL', message: 'The server is busy: 1 running, 4 waiting' } }, 503, { 'retry-after': '5' }));
    const err = await transcribe(webm, { fetch }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect(err).toMatchObject({ status: 503, code: 'QUEUE_FULL', message: 'The server is busy with other transcriptions. Try again in 5 s.' });

    const big = fakeFetch(json({ error: { code: 'UPLOAD_TOO_LARGE', message: 'The upload is larger than the limit of 25 MB' } }, 413));
    await expect(transcribe(webm, { fetch: big.fetch })).rejects.toMatchObject({ status: 413, message: 'That file is too large (the server takes up to 25 MB).' });
  });

  it('a 415 for a WAV is not retried', async () => {
    const { fetch, sent } = fakeFetch(json({ error: { code: 'AUDIO_UNSUPPORTED_FORMAT', message: 'mu-law' } }, 415));
    const err = await transcribe(new Blob(['RIFF'], { type: 'audio/wav' }), { fetch, toWav: wavOf }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUDIO_UNSUPPORTED_FORMAT' });
    expect(sent).toHaveLength(1);
  });

  it('a network failure, a non-JSON error and a malformed answer each get a plain message', async () => {
    const offline = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    await expect(transcribe(webm, { fetch: offline })).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringMatching(/could not be reached/) });

    const proxy = fakeFetch(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    await expect(transcribe(webm, { fetch: proxy.fetch })).rejects.toMatchObject({ code: 'HTTP_502', message: 'Something went wrong on the server (502). Try again in a moment.' });

    const odd = fakeFetch(json({ nothing: true }));
    await expect(transcribe(webm, { fetch: odd.fetch })).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });
});
