// Graceful shutdown under load: in-process (startServer + shutdown()) and as the operator sees it
// (`talk2me serve` from dist/ and `npm start`, SIGTERM): requests in flight complete, new connections are refused,
// temp files are removed, the model is freed, and the process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort, refused } from '../helpers/network.js';
import { clip } from '../http/helpers/audio.js';
import { send, type Answer } from '../http/helpers/client.js';
import { listen, makeRoot, waitFor, type Root } from '../http/helpers/harness.js';
import { form } from '../http/helpers/multipart.js';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

let root: Root;

beforeAll(async () => {
  root = await makeRoot('shutdown');
});

afterAll(async () => {
  await root?.remove();
});

describe('graceful shutdown in-process', () => {
  it('finishes the requests in flight, refuses new connections, removes temp files, frees the model', async () => {
    const instance = await listen(root, 'inproc', { MAX_CONCURRENCY: '1', MAX_QUEUE: '8' });
    const { services } = instance;
    const body = await form([['audio', { data: clip(8), filename: 'a.wav' }]]);
    // Three clients, each its own session (cookie-less ones from one address share one, which runs two at a time).
    const requests = Array.from({ length: 3 }, (_, i) => send(`${instance.url}/transcribe`, { body, headers: { 'x-session-id': `client-${i}` } }));
    const answers: Array<Answer | Error | undefined> = [undefined, undefined, undefined];
    const answeredAt: number[] = [];
    requests.forEach((sent, i) =>
      sent.answer
        .then((a) => (answers[i] = a), (e: Error) => (answers[i] = e))
        .finally(() => answeredAt.push(performance.now())),
    );
    await waitFor(() => services.queue.running + services.queue.queued === 3 || answers.some((a) => a !== undefined), 'the requests to be admitted');
    expect(services.sessions.stats().inflight).toBeGreaterThan(0);

    const shutdownAt = performance.now();
    const closing = instance.server.shutdown('test');
    // Idempotent: a second call is the same shutdown.
    expect(instance.server.shutdown('again')).toBe(closing);
    await waitFor(() => refused(instance.url), 'new connections to be refused', 5000);
    await closing;

    // Under load: at least one request was still being worked on when the shutdown began.
    expect(answeredAt.filter((t) => t > shutdownAt).length).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer).not.toBeInstanceOf(Error);
      expect((answer as Answer).status, (answer as Answer).text).toBe(200);
      expect((answer as Answer).json().duration_s).toBe(8);
    }
    expect(await refused(instance.url)).toBe(true);
    expect(await readdir(instance.uploadDir)).toEqual([]);
    expect(services.files.closed).toBe(true);
    expect(services.files.stats().count).toBe(0);
    expect(services.model.state).toBe('disposed');
    expect(services.queue).toMatchObject({ running: 0, queued: 0 });
    const log = await instance.logText();
    expect(log).toContain('Shutting down');
    expect(log).toContain('"msg":"Shut down"');
  });
});

describe('graceful shutdown with keep-alive clients', () => {
  // Load balancers and HTTP clients keep connections open between requests; close() waits for every
  // connection, so one that outlived its last answer held the shutdown until SHUTDOWN_TIMEOUT_S.
  // The stream's answer is hijacked from Fastify (Server-Sent Events), so no hook sees its end.
  const cases: Array<[string, string, Array<[string, string]>]> = [
    ['a transcription', '/transcribe', []],
    ['a streamed transcription', '/v1/audio/transcriptions', [['model', 'whisper-1'], ['stream', 'true']]],
  ];
  it.each(cases)('ends as soon as %s in flight is answered, not at SHUTDOWN_TIMEOUT_S', async (name, path, fields) => {
    const instance = await listen(root, `keepalive-${name.replace(/\W/g, '-')}`, { SHUTDOWN_TIMEOUT_S: '30' });
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const post = async (path: string, body?: Awaited<ReturnType<typeof form>>): Promise<{ status: number; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${instance.url}${path}`, {
          method: body ? 'POST' : 'GET',
          agent,
          headers: body ? { 'content-type': body.contentType, 'content-length': String(body.payload.length) } : {},
        });
        req.on('error', reject);
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        });
        req.end(body?.payload);
      });
    try {
      // One connection left idle in the pool, one carrying a transcription when the shutdown begins.
      expect((await post('/health')).connection).toBe('keep-alive');
      const file = path === '/transcribe' ? 'audio' : 'file';
      const inflight = post(path, await form([...fields, [file, { data: clip(8), filename: 'a.wav' }]]));
      await waitFor(() => instance.services.queue.running === 1, 'the transcription to start');

      const started = performance.now();
      await instance.server.shutdown('test');
      const seconds = (performance.now() - started) / 1000;
      const answer = await inflight;
      expect(answer.status).toBe(200);
      expect(seconds).toBeLessThan(10);
      expect(await instance.logText()).not.toContain('Shutdown timeout');
    } finally {
      agent.destroy();
    }
  });
});

describe('talk2me serve and SIGTERM', () => {
  // `npm start` as the README says, and the command it runs. npm forwards SIGTERM to its script,
  // which must therefore be the server itself (exec), not a shell that dies and leaves it running.
  const npm = process.env.npm_execpath;
  const commands: Array<[string, string[]]> = [
    ['talk2me serve', [cli, 'serve']],
    ['npm start', npm ? [npm, 'start', '--silent'] : []],
  ];
  it.each(commands)('%s completes the request in flight, removes its upload and exits 0', async (name, args) => {
    expect(existsSync(cli), `${cli} is missing: run npm run build`).toBe(true);
    if (args.length === 0) expect.fail(`${name}: npm_execpath is not set; run the tests through npm test`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const uploadDir = join(root.path, `uploads-${name.replace(/\W/g, '-')}`);
    const child: ChildProcess = spawn(process.execPath, args, {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        ...process.env,
        WHISPER_MODEL: root.model,
        HOST: '127.0.0.1',
        PORT: String(port),
        UPLOAD_DIR: uploadDir,
        LOG_FILE: join(root.path, `${name.replace(/\W/g, '-')}.log`),
        MAX_CONCURRENCY: '1',
        WHISPER_THREADS: '2',
        WEB_ROOT: join(root.path, 'no-web-root'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const backstop = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      await waitFor(() => output.includes('talk2me is listening'), 'the server to listen', 30_000, 50);

      const sent = send(`${url}/transcribe`, { body: await form([['audio', { data: clip(20), filename: 'a.wav' }]]) });
      let answer: Answer | Error | undefined;
      sent.answer.then((a) => (answer = a), (e: Error) => (answer = e));
      // In flight: the upload is in the directory and the request has not been answered.
      await waitFor(async () => answer !== undefined || (existsSync(uploadDir) && (await readdir(uploadDir)).length === 1), 'the upload to land', 30_000, 5);
      expect(answer, 'the request finished before the signal could be sent').toBeUndefined();

      child.kill('SIGTERM');
      const exit = await exited;
      expect(exit, output).toEqual({ code: 0, signal: null });
      await waitFor(() => answer !== undefined, 'the answer');
      expect(answer).not.toBeInstanceOf(Error);
      expect((answer as Answer).status, (answer as Answer).text).toBe(200);
      expect((answer as Answer).json().duration_s).toBe(20);
      expect(await readdir(uploadDir)).toEqual([]);
      expect(output).toContain('Shutting down');
      // The server itself is gone, not only the process the signal went to.
      expect(await refused(url)).toBe(true);
    } finally {
      clearTimeout(backstop);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
