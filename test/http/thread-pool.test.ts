// whisper work does not hold libuv's thread pool: while MAX_CONCURRENCY long transcriptions run
// (more than the pool's 4 threads could take without starving it), the memory report and requests
// that need the file system still answer at once. UV_THREADPOOL_SIZE is left at its default.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { send } from './helpers/client.js';
import { ADMIN_TOKEN, listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';

const CONCURRENCY = 4;
let root: Root;
let server: HttpInstance;

beforeAll(async () => {
  root = await makeRoot('thread-pool');
  const web = join(root.path, 'web');
  await mkdir(web);
  await writeFile(join(web, 'index.html'), '<!doctype html><title>talk2me</title>');
  server = await listen(root, 'thread-pool', {
    ADMIN_TOKEN,
    MAX_CONCURRENCY: String(CONCURRENCY),
    WHISPER_THREADS: '1',
    WEB_ROOT: web,
    SESSION_MAX_CONCURRENT: String(CONCURRENCY),
  });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await call();
  return { ms: performance.now() - started, value };
}

it('answers /admin/memory and file-system requests promptly while MAX_CONCURRENCY transcriptions run', async () => {
  // 30 s of audio costs the mini model seconds per transcription on one thread.
  const body = await form([['audio', { data: clip(30), filename: 'long.wav', type: 'audio/wav' }]]);
  const transcriptions = Array.from({ length: CONCURRENCY }, () => send(`${server.url}/transcribe`, { body }).answer);
  // Admitted, then a moment to decode the WAV and enter whisper.cpp. (Not asked of the model: that
  // is the call being measured.)
  await waitFor(() => server.services.queue.running === CONCURRENCY, 'all transcriptions to be admitted', 60_000, 20);
  await new Promise((resolve) => setTimeout(resolve, 500));

  const memory = await timed(() => send(`${server.url}/admin/memory`, { headers: { 'x-admin-token': ADMIN_TOKEN } }).answer);
  const page = await timed(() => send(`${server.url}/index.html`).answer);
  const fsCall = await timed(() => stat(server.logFile));
  const stillRunning = server.services.queue.running;

  expect(memory.ms).toBeLessThan(1000);
  expect(page.ms).toBeLessThan(1000);
  expect(fsCall.ms).toBeLessThan(1000);
  expect(memory.value.status, memory.value.text).toBe(200);
  expect(memory.value.text).toContain(`"busy":${CONCURRENCY}`);
  expect(page.value.status).toBe(200);
  expect(page.value.text).toContain('talk2me');
  // The measurements mean something only if whisper was still busy throughout.
  expect(stillRunning).toBe(CONCURRENCY);

  for (const answer of await Promise.all(transcriptions)) expect(answer.status, answer.text).toBe(200);
}, 180_000);
