// stream=true through the official `openai` client over real HTTP: Server-Sent Events with a
// delta per decoded segment and a final done event, errors before the stream as JSON, and a client
// that hangs up mid-stream stopping the work. The speech-like synthetic model decodes as speech
// does, one segment per 5 s of audio, so every segment and delta is known in advance.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SPEECHLIKE_SEGMENT_SECONDS, SPEECHLIKE_TOKENS_PER_SEGMENT } from '../../src/model/speechlike.js';
import { clip } from './helpers/audio.js';
import { listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';

let root: Root;
let server: HttpInstance;
let client: OpenAI;

beforeAll(async () => {
  root = await makeRoot('openai-stream', { decoder: 'speechlike' });
  server = await listen(root, 'openai-stream');
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

async function rejectedAborted(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('talk2me_requests_rejected_total{code="ABORTED"}'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('openai client: stream=true', () => {
  it('yields transcript.text.delta events, then transcript.text.done with their text', async () => {
    const seconds = 12;
    for (const response_format of ['json', 'text'] as const) {
      const stream = await client.audio.transcriptions.create({
        file: await toFile(clip(seconds), 'a.wav', { type: 'audio/wav' }),
        model: 'whisper-1',
        response_format,
        stream: true,
      });
      const events: Array<{ type: string; delta?: string; text?: string }> = [];
      for await (const event of stream) events.push(event);
      const done = events.at(-1)!;
      expect(done).toEqual({ type: 'transcript.text.done', text: expect.any(String) });
      // One delta per segment (0-5, 5-10, 10-12 s), each with the segment's words.
      const deltas = events.slice(0, -1);
      expect(deltas).toHaveLength(Math.ceil(seconds / SPEECHLIKE_SEGMENT_SECONDS));
      for (const event of deltas) {
        expect(event).toEqual({ type: 'transcript.text.delta', delta: expect.any(String) });
        expect(event.delta!.trim().split(/\s+/)).toHaveLength(SPEECHLIKE_TOKENS_PER_SEGMENT);
      }
      expect(deltas.map((e) => e.delta).join('')).toBe(done.text);
    }
  });

  it('answers a refused stream with an ordinary JSON error', async () => {
    const err = await client.audio.transcriptions
      .create({ file: await toFile(clip(2), 'a.wav', { type: 'audio/wav' }), model: 'whisper-1', response_format: 'srt', stream: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'UNSUPPORTED_PARAMETER' });
  });

  it('stops the transcription when the client hangs up mid-stream', async () => {
    const abortedBefore = await rejectedAborted();
    const controller = new AbortController();
    // Nine segments to decode (six in the first 30 s window, three in the next): the first delta
    // comes with the first segment, and most of the decoder's work is still ahead.
    const stream = await client.audio.transcriptions.create(
      { file: await toFile(clip(45), 'long.wav', { type: 'audio/wav' }), model: 'whisper-1', stream: true },
      { signal: controller.signal },
    );
    const seen: string[] = [];
    // The client's stream ends quietly when its request is aborted.
    for await (const event of stream) {
      seen.push(event.type);
      controller.abort();
    }
    // Deltas already on their way may arrive; the done event never does.
    expect(seen[0]).toBe('transcript.text.delta');
    expect(seen).not.toContain('transcript.text.done');
    expect(seen.length).toBeLessThan(Math.ceil(45 / SPEECHLIKE_SEGMENT_SECONDS));
    await waitFor(() => server.services.model.inflight === 0 && server.services.queue.running === 0, 'the work to stop', 30_000);
    // Stopped, not finished: the model's work ended as ABORTED.
    await waitFor(async () => (await rejectedAborted()) === abortedBefore + 1, 'the abort to be counted', 5_000);
  });

  it('ends a stream that already began with an error event when the work fails', async () => {
    const failing = await listen(root, 'openai-stream-failing');
    try {
      const failingClient = new OpenAI({ baseURL: `${failing.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
      const stream = await failingClient.audio.transcriptions.create({ file: await toFile(clip(45), 'long.wav', { type: 'audio/wav' }), model: 'whisper-1', stream: true });
      const seen: string[] = [];
      const err = await (async () => {
        for await (const event of stream) {
          seen.push(event.type);
          // The model going away under the transcription: its work is cancelled mid-stream.
          if (seen.length === 1) void failing.services.model.dispose();
        }
      })().catch((e: unknown) => e);
      expect(seen[0]).toBe('transcript.text.delta');
      expect(seen).not.toContain('transcript.text.done');
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      await waitFor(() => failing.services.model.inflight === 0, 'the work to stop', 30_000);
    } finally {
      await failing.close();
    }
  });
});
