// Requests over their session's concurrency wait their turn: six parallel calls from the official
// client, with no session id and no retries, all succeed. Past the session's waiting line a request
// is refused with 429 and Retry-After, and a waiter that hangs up leaves the line by its turn.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';

let root: Root;
let long: Blob;

beforeAll(async () => {
  root = await makeRoot('session-queue');
  // Built before any server starts: seconds of synchronous work would count as event-loop pressure.
  long = new Blob([clip(20)], { type: 'audio/wav' });
});

afterAll(async () => {
  await root?.remove();
});

describe('a session over its concurrency', () => {
  let server: HttpInstance;
  afterAll(async () => server?.close());

  it('six parallel calls from one client, without retries, all succeed', async () => {
    server = await listen(root, 'six', { SESSION_MAX_CONCURRENT: '2' });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
    const file = () => toFile(clip(2), 'a.wav', { type: 'audio/wav' });
    const results = await Promise.all(Array.from({ length: 6 }, async () => client.audio.transcriptions.create({ file: await file(), model: 'whisper-1' })));
    expect(results).toHaveLength(6);
    for (const result of results) expect(result).toEqual({ text: expect.any(String) });
    expect(server.services.sessionGate.waiting).toBe(0);
  });
});

describe("past the session's waiting line", () => {
  let server: HttpInstance;
  afterAll(async () => server?.close());

  it('is refused with 429 and Retry-After; a waiter that hangs up leaves the line by its turn', async () => {
    server = await listen(root, 'line', { SESSION_MAX_CONCURRENT: '1', SESSION_MAX_QUEUED: '1', MAX_CONCURRENCY: '1' });
    const send = (signal?: AbortSignal) => {
      const form = new FormData();
      form.append('audio', long, 'long.wav');
      return fetch(`${server.url}/transcribe`, { method: 'POST', body: form, headers: { 'x-session-id': 'one-session' }, ...(signal && { signal }) });
    };
    const running = send(); // holds the session's one slot for a while
    await waitFor(() => server.services.queue.running === 1 && server.services.model.inflight === 1, 'the first request inside whisper');
    const abandon = new AbortController();
    const waiter = send(abandon.signal).catch((err: unknown) => err);
    await waitFor(() => server.services.sessionGate.waiting === 1, 'the second request waiting');
    const refused = await send();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: { code: 'SESSION_CONCURRENCY_LIMIT' } });
    // A waiter's body is not read, so its hang-up is seen when its turn comes (the socket is read
    // again): it then ends at once and leaves nothing behind.
    abandon.abort();
    await waiter;
    expect((await running).status).toBe(200);
    await waitFor(() => server.services.sessionGate.waiting === 0 && server.services.queue.running === 0, 'the abandoned waiter gone');
    await waitFor(async () => (await server.uploads()).length === 0, 'no upload left');
  });
});

describe('every 429', () => {
  let server: HttpInstance;
  afterAll(async () => server?.close());

  it('carries Retry-After, the address limit included', async () => {
    server = await listen(root, 'address', { SESSION_MAX_CONCURRENT: '1', ADDRESS_MAX_CONCURRENT: '1', MAX_CONCURRENCY: '1' });
    const send = (session: string) => {
      const form = new FormData();
      form.append('audio', long, 'long.wav');
      return fetch(`${server.url}/transcribe`, { method: 'POST', body: form, headers: { 'x-session-id': session } });
    };
    const running = send('first');
    await waitFor(() => server.services.queue.running === 1 && server.services.model.inflight === 1, 'the first request inside whisper');
    const other = await send('second');
    expect(other.status).toBe(429);
    expect(await other.json()).toMatchObject({ error: { code: 'ADDRESS_CONCURRENCY_LIMIT' } });
    expect(other.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await running).status).toBe(200);
  });
});
