// Back-pressure over real HTTP: a burst beyond MAX_CONCURRENCY + MAX_QUEUE is turned away with
// 503 QUEUE_FULL and Retry-After while admin, health and metrics keep answering; a client that
// disconnects mid-transcription cancels it; a session over its limit gets 429; REQUEST_TIMEOUT_S
// cuts a transcription off with 504; a saturated event loop turns transcriptions away.
import { request as httpRequest } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { getJson, send, type Answer, type Sent } from './helpers/client.js';
import { ADMIN_TOKEN, errorCode, injectApp, listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';
import { form, type Body } from './helpers/multipart.js';

let root: Root;
let server: HttpInstance;
// Two minutes of audio cost the mini model about 18 s of CPU: long enough that these tests only
// ever see such a transcription cut short.
let long: Body;
let short: Body;

beforeAll(async () => {
  root = await makeRoot('pressure');
  // Built before any server starts: seconds of synchronous work would count as event-loop pressure.
  long = await form([['audio', { data: clip(120), filename: 'long.wav', type: 'audio/wav' }]]);
  short = await form([['audio', { data: clip(2), filename: 'short.wav', type: 'audio/wav' }]]);
  server = await listen(root, 'pressure', { ADMIN_TOKEN, MAX_CONCURRENCY: '1', MAX_QUEUE: '1', SESSION_MAX_CONCURRENT: '1', SESSION_MAX_QUEUED: '0', REQUEST_TIMEOUT_S: '120' });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

const admin = { 'x-admin-token': ADMIN_TOKEN };

async function metric(instance: HttpInstance, series: string): Promise<number | undefined> {
  const text = (await send(`${instance.url}/metrics`).answer).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Follows a request: `answers[i]` is set when it is answered. */
function track(requests: Sent[]): Array<Answer | Error | null> {
  const answers: Array<Answer | Error | null> = requests.map(() => null);
  requests.forEach((sent, i) => sent.answer.then((a) => (answers[i] = a), (e: Error) => (answers[i] = e)));
  return answers;
}

async function idle(instance: HttpInstance): Promise<void> {
  const { services } = instance;
  await waitFor(
    async () =>
      services.queue.running === 0 && services.queue.queued === 0 && services.queue.announced === 0 && services.model.inflight === 0 && (await instance.uploads()).length === 0,
    'no transcription in flight or announced and no upload left',
    10_000,
  );
}

describe('back-pressure', () => {
  it('turns a burst away with 503 QUEUE_FULL and Retry-After; admin, health and metrics stay reachable', async () => {
    // Four clients, each with a session of its own: the queue, not a session limit, turns them away.
    const burst = Array.from({ length: 4 }, (_, i) => send(`${server.url}/transcribe`, { body: long, headers: { 'x-session-id': `burst-${i}` } }));
    const answers = track(burst);
    // One runs and one waits; the other two are refused as soon as their upload is in.
    // Running means inside whisper: the admitted request decodes its upload first (in slices, the
    // loop's other work in between), so the queue counts it before the model does.
    await waitFor(
      () => server.services.queue.running === 1 && server.services.queue.queued === 1 && server.services.model.inflight === 1,
      'one transcribing and one queued',
    );
    await waitFor(() => answers.filter((a) => a !== null).length === 2, 'two answers');
    for (const answer of answers.filter((a) => a !== null)) {
      expect(answer).not.toBeInstanceOf(Error);
      const refusal = answer as Answer;
      expect(refusal.status, refusal.text).toBe(503);
      expect(Number(refusal.headers['retry-after'])).toBeGreaterThan(0);
      expect(errorCode(refusal.json())).toBe('QUEUE_FULL');
    }

    // While busy, the operator's routes answer at once.
    expect((await getJson(`${server.url}/health`)).status).toBe(200);
    expect((await getJson(`${server.url}/ready`)).status).toBe(200);
    const memory = await getJson(`${server.url}/admin/memory`, admin);
    expect(memory.status).toBe(200);
    expect(memory.body.model.inflight).toBe(1);
    expect(memory.body.temp_files.count).toBe(2);
    expect(await metric(server, 'talk2me_inflight_transcriptions')).toBe(1);
    expect(await metric(server, 'talk2me_queue_depth')).toBe(1);
    expect(await metric(server, 'talk2me_temp_files')).toBe(2);
    expect(await metric(server, 'talk2me_temp_files_bytes')).toBe(2 * clip(120).length);
    expect(await metric(server, 'talk2me_requests_rejected_total{code="QUEUE_FULL"}')).toBe(2);

    // The two clients still waiting give up: both transcriptions end, the queued one unstarted.
    expect(answers.filter((a) => a !== null).length).toBe(2);
    burst.filter((_, i) => answers[i] === null).forEach((sent) => sent.request.destroy());
    await idle(server);
  });

  it('a client that disconnects mid-transcription cancels it and leaves nothing behind', async () => {
    const aborted = (await metric(server, 'talk2me_requests_rejected_total{code="ABORTED"}')) ?? 0;
    const sent = send(`${server.url}/transcribe`, { body: long, headers: { 'x-session-id': 'goes-away' } });
    const answers = track([sent]);
    await waitFor(() => server.services.model.inflight === 1, 'the transcription to start');
    await new Promise((resolve) => setTimeout(resolve, 200)); // inside whisper by now
    const cutAt = Date.now();
    sent.request.destroy();
    await idle(server);
    // Far sooner than the transcription would have taken, and the client never got an answer.
    expect(Date.now() - cutAt).toBeLessThan(10_000);
    expect(answers[0]).toBeInstanceOf(Error);

    const memory = await getJson(`${server.url}/admin/memory`, admin);
    expect(memory.body.model).toMatchObject({ inflight: 0, state: 'ready' });
    expect(memory.body.temp_files).toMatchObject({ count: 0, size_mb: 0 });
    expect(server.services.sessions.stats()).toMatchObject({ inflight: 0, tempBytes: 0 });
    expect(await metric(server, 'talk2me_requests_rejected_total{code="ABORTED"}')).toBe(aborted + 1);

    // The slot is free for the next client.
    const next = await send(`${server.url}/transcribe`, { body: short }).answer;
    expect(next.status, next.text).toBe(200);
  });

  it('a client that hangs up mid-upload is a 499 logged at info, and leaves no file behind', async () => {
    const closed = (await metric(server, 'talk2me_requests_rejected_total{code="CLIENT_CLOSED"}')) ?? 0;
    const logBefore = server.stdout.text.length;
    const request = httpRequest(`${server.url}/transcribe`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': long.contentType, 'content-length': String(long.payload.length), 'x-session-id': 'hangs-up' },
    });
    request.on('error', () => undefined);
    request.write(long.payload.subarray(0, long.payload.length >> 1));
    await waitFor(async () => (await server.uploads()).length === 1, 'the upload to start');
    request.destroy();
    await waitFor(async () => (await metric(server, 'talk2me_requests_rejected_total{code="CLIENT_CLOSED"}')) === closed + 1, 'the hang-up to be counted');
    await idle(server);

    const logLines = (): Array<{ level: number; code?: string; statusCode?: number; msg: string }> =>
      server.stdout.text
        .slice(logBefore)
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as { level: number; code?: string; statusCode?: number; msg: string });
    // The refusal is counted where it is thrown; its log line is written once the error handler has
    // run, which can be a moment later under load.
    await waitFor(() => logLines().some((line) => line.code === 'CLIENT_CLOSED'), 'the hang-up to be logged');
    const lines = logLines();
    const hangUp = lines.filter((line) => line.code === 'CLIENT_CLOSED');
    expect(hangUp).toHaveLength(1);
    expect(hangUp[0]).toMatchObject({ level: 30, statusCode: 499 });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(server.services.sessions.stats()).toMatchObject({ inflight: 0, tempBytes: 0 });
  });

  it('with no waiting line, a session over SESSION_MAX_CONCURRENT gets 429 over a real connection, before its upload is read', async () => {
    const headers = { 'x-session-id': 'twice-at-once' };
    const first = send(`${server.url}/transcribe`, { body: long, headers });
    await waitFor(() => server.services.sessions.stats().inflight === 1, 'the first request to be admitted');
    const second = await send(`${server.url}/transcribe`, { body: long, headers }).answer.catch((err: Error) => err);
    first.request.destroy();
    await idle(server);
    expect(second, String(second)).not.toBeInstanceOf(Error);
    const answer = second as Answer;
    expect(answer.status).toBe(429);
    expect(errorCode(answer.json())).toBe('SESSION_CONCURRENCY_LIMIT');
    expect(await metric(server, 'talk2me_requests_rejected_total{code="SESSION_CONCURRENCY_LIMIT"}')).toBe(1);
  });
});

describe('REQUEST_TIMEOUT_S', () => {
  it('cuts a transcription off with 504 REQUEST_TIMEOUT and cleans up', async () => {
    // The audio adds nothing to the limit here, so the long clip outlasts it.
    const strict = await listen(root, 'timeout', { REQUEST_TIMEOUT_S: '1', REQUEST_TIMEOUT_PER_AUDIO_S: '0' });
    try {
      const started = Date.now();
      const answer = await send(`${strict.url}/transcribe`, { body: long }).answer;
      expect(answer.status, answer.text).toBe(504);
      expect(errorCode(answer.json())).toBe('REQUEST_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(10_000);
      await idle(strict);
      expect(await metric(strict, 'talk2me_requests_rejected_total{code="REQUEST_TIMEOUT"}')).toBe(1);
      expect(await metric(strict, 'talk2me_requests_rejected_total{code="ABORTED"}')).toBeUndefined();
    } finally {
      await strict.close();
    }
  });
});

describe('event-loop pressure', () => {
  it('a saturated event loop turns transcriptions away with 503 UNDER_PRESSURE; health still answers', async () => {
    const instance = await injectApp(root, 'loop');
    try {
      // Some idle time first: a utilisation averaged since start-up would hide what follows.
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Keep the loop busy for over two sample intervals (1 s each) in small slices, so the
      // sampling timer still runs and sees a fully used loop.
      const until = Date.now() + 2300;
      await new Promise<void>((resolve) => {
        const slice = (): void => {
          const end = Date.now() + 5;
          while (Date.now() < end);
          if (Date.now() < until) setImmediate(slice);
          else resolve();
        };
        slice();
      });
      const refused = await instance.app.inject({ method: 'POST', url: '/transcribe', payload: short.payload, headers: { 'content-type': short.contentType } });
      expect(refused.statusCode, refused.body).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(errorCode(refused.json())).toBe('UNDER_PRESSURE');
      expect((await instance.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      expect((await instance.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);

      // Once the loop has had a quiet sample interval, work is taken again.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const taken = await instance.app.inject({ method: 'POST', url: '/transcribe', payload: short.payload, headers: { 'content-type': short.contentType } });
      expect(taken.statusCode, taken.body).toBe(200);
    } finally {
      await instance.close();
    }
  });
});
