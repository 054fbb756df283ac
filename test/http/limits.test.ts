// Limits a client cannot lift and resources it cannot exhaust, over real HTTP: sessions are made
// only for valid requests and a full table degrades to replacing idle sessions, not to a lock-out;
// per-address limits hold whatever session ids a client invents (and follow TRUST_PROXY); staged
// upload bytes are bounded (507 with Retry-After, never 500); a stalled body is cut off (408) and
// its file removed; a vanished UPLOAD_DIR is recreated, and one that cannot be used makes /ready
// and uploads answer 503 until it is fixed.
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { getJson, send, type Answer } from './helpers/client.js';
import { errorCode, listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';
import { form, rawForm, type Body } from './helpers/multipart.js';
import { openSocket, readAnswer, type RawAnswer } from './helpers/raw.js';

let root: Root;
const servers: HttpInstance[] = [];

beforeAll(async () => {
  root = await makeRoot('limits');
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await root?.remove();
});

async function start(name: string, env: Record<string, string>): Promise<HttpInstance> {
  const server = await listen(root, name, env);
  servers.push(server);
  return server;
}

const audio = async (seconds = 1): Promise<Body> => form([['audio', { data: clip(seconds), filename: 'a.wav', type: 'audio/wav' }]]);

async function transcribe(server: HttpInstance, headers: Record<string, string>, body?: Body): Promise<Answer> {
  return send(`${server.url}/transcribe`, { body: body ?? (await audio()), headers }).answer;
}

/**
 * A request whose body is sent only in part and then held: headers announcing `totalBytes`, then
 * the form's opening and `fileBytes` of its file. It stays in flight until the server answers or
 * the socket is destroyed.
 */
async function heldUpload(server: HttpInstance, headers: Record<string, string>, fileBytes: number): Promise<{ socket: Socket; answer: Promise<RawAnswer> }> {
  const body = rawForm([{ name: 'audio', filename: 'a.wav', data: Buffer.alloc(fileBytes + 1024 * 1024, 1) }]);
  const sent = body.payload.indexOf(Buffer.from('\r\n\r\n')) + 4 + fileBytes;
  const head = [
    'POST /transcribe HTTP/1.1',
    `Host: ${new URL(server.url).host}`,
    `Content-Type: ${body.contentType}`,
    `Content-Length: ${body.payload.length}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  const socket = await openSocket(server.url);
  const answer = readAnswer(socket, 30_000, () => {
    socket.write(`${head}\r\n\r\n`);
    socket.write(body.payload.subarray(0, sent));
  });
  answer.catch(() => undefined);
  return { socket, answer };
}

describe('sessions (SESSION_MAX, SESSION_MAX_PER_ADDRESS)', () => {
  let server: HttpInstance;
  beforeAll(async () => {
    server = await start('sessions', { SESSION_MAX: '3', SESSION_MAX_PER_ADDRESS: '2', TRUST_PROXY: '127.0.0.1' });
  });

  it('makes no session for a refused request, however many fresh ids it sends', async () => {
    for (let i = 0; i < 10; i++) {
      const plain = await send(`${server.url}/transcribe`, { body: { payload: Buffer.alloc(0), contentType: 'text/plain' }, headers: { 'x-session-id': `junk-${i}` } }).answer;
      expect(plain.status).toBe(415);
      const empty = await send(`${server.url}/transcribe`, { body: rawForm([{ name: 'language', data: 'en' }]), headers: { 'x-session-id': `empty-${i}` } }).answer;
      expect(empty.status).toBe(400);
      expect(errorCode(empty.json())).toBe('MISSING_FILE');
      const badField = await transcribe(server, { 'x-session-id': `field-${i}` }, await form([['audio', { data: clip(1), filename: 'a.wav' }], ['language', 'not a language']]));
      expect(badField.status).toBe(400);
    }
    expect(server.services.sessions.stats()).toMatchObject({ active: 0, provisional: 0, inflight: 0, tempBytes: 0 });
    const ok = await transcribe(server, { 'x-session-id': 'first-real-client' });
    expect(ok.status).toBe(200);
    expect(server.services.sessions.stats()).toMatchObject({ active: 1, createdTotal: 1 });
  });

  it('caps the sessions of one address, replacing its own idle ones; other clients are not refused when the table is full', async () => {
    for (let i = 0; i < 4; i++) {
      const answer = await transcribe(server, { 'x-session-id': `rotating-${i}`, 'x-forwarded-for': '10.1.1.1' });
      expect(answer.status).toBe(200);
    }
    for (let i = 0; i < 5; i++) {
      const answer = await transcribe(server, { 'x-session-id': `newcomer-${i}`, 'x-forwarded-for': `10.2.2.${i}` });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers['retry-after']).toBeUndefined();
    }
    const stats = server.services.sessions.stats();
    expect(stats.active).toBe(3);
    expect(stats.rejectedTotal.SESSION_COUNT_LIMIT).toBe(0);
    expect(stats.evictedTotal).toBeGreaterThanOrEqual(7);
  });
});

describe('limits per client address (ADDRESS_MAX_CONCURRENT, ADDRESS_MAX_TEMP_MB)', () => {
  const env = { SESSION_MAX_CONCURRENT: '1', ADDRESS_MAX_CONCURRENT: '2', SESSION_MAX_TEMP_MB: '1', ADDRESS_MAX_TEMP_MB: '1.5' };

  async function concurrencyCase(server: HttpInstance, thirdAddress: string): Promise<RawAnswer | 'in flight'> {
    const held = [await heldUpload(server, { 'x-session-id': 'worker-1' }, 1000), await heldUpload(server, { 'x-session-id': 'worker-2' }, 1000)];
    try {
      await waitFor(() => server.services.sessions.stats().inflight === 2, 'two uploads in flight');
      const third = await heldUpload(server, { 'x-session-id': 'worker-3', 'x-forwarded-for': thirdAddress }, 1000);
      // Refused (an answer), or admitted: a third upload in flight.
      const admitted = waitFor(() => server.services.sessions.stats().inflight === 3, 'a third upload in flight').then(() => 'in flight' as const);
      admitted.catch(() => undefined);
      const outcome = await Promise.race([third.answer, admitted]);
      third.socket.destroy();
      return outcome;
    } finally {
      for (const h of held) h.socket.destroy();
      await waitFor(() => server.services.sessions.stats().inflight === 0, 'the held uploads to end');
    }
  }

  it('refuses a request over the address limit whatever session id it names', async () => {
    const server = await start('address', env);
    const answer = await concurrencyCase(server, '10.9.9.9');
    // X-Forwarded-For is not believed without TRUST_PROXY: the third request is the same address.
    if (answer === 'in flight') throw new Error('Expected the third request to be refused but it was admitted');
    expect(answer.status).toBe(429);
    expect(errorCode(JSON.parse(answer.body))).toBe('ADDRESS_CONCURRENCY_LIMIT');
  });

  it('takes the address from X-Forwarded-For where TRUST_PROXY trusts the proxy', async () => {
    const server = await start('address-proxy', { ...env, TRUST_PROXY: '127.0.0.1' });
    const answer = await concurrencyCase(server, '10.9.9.9');
    expect(answer).toBe('in flight');
  });

  it('caps the upload bytes of one address across its sessions', async () => {
    const server = await start('address-bytes', env);
    const first = await heldUpload(server, { 'x-session-id': 'bytes-1' }, 900 * 1024);
    try {
      await waitFor(() => server.services.sessions.stats().tempBytes >= 900 * 1024, 'the first upload to be staged');
      const second = await heldUpload(server, { 'x-session-id': 'bytes-2' }, 900 * 1024);
      const answer = await second.answer;
      second.socket.destroy();
      expect(answer.status).toBe(429);
      expect(errorCode(JSON.parse(answer.body))).toBe('ADDRESS_TEMP_BYTES_LIMIT');
    } finally {
      first.socket.destroy();
    }
  });
});

describe('staged upload bytes and disk space', () => {
  it('refuses uploads beyond UPLOAD_MAX_STAGED_MB with 507 and Retry-After, and keeps nothing', async () => {
    const server = await start('staged', { UPLOAD_MAX_STAGED_MB: '1' });
    const answer = await transcribe(server, {}, await audio(40));
    expect(answer.status, answer.text).toBe(507);
    expect(errorCode(answer.json())).toBe('STAGED_BYTES_LIMIT');
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    await waitFor(async () => (await server.uploads()).length === 0, 'the partial upload to be removed');
    expect((await transcribe(server, {})).status).toBe(200);
  });

  it('refuses uploads with 507 while the disk has less than UPLOAD_MIN_FREE_MB free, and says so on /ready', async () => {
    const server = await start('free', { UPLOAD_MIN_FREE_MB: String(2 ** 30) });
    const answer = await transcribe(server, {});
    expect(answer.status).toBe(507);
    expect(errorCode(answer.json())).toBe('INSUFFICIENT_STORAGE');
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    const ready = await getJson(`${server.url}/ready`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, reason: 'upload directory short of disk space' } });
    expect(await server.uploads()).toEqual([]);
  });

  it('cuts off a body that stalls after UPLOAD_STALL_TIMEOUT_S with 408, closes the connection and removes the partial file', async () => {
    const server = await start('stall', { UPLOAD_STALL_TIMEOUT_S: '1' });
    const started = Date.now();
    const held = await heldUpload(server, { 'x-session-id': 'slow-loris' }, 64 * 1024);
    await waitFor(async () => (await server.uploads()).length === 1, 'the partial file to be written');
    const answer = await held.answer;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer.status).toBe(408);
    expect(errorCode(JSON.parse(answer.body))).toBe('UPLOAD_STALLED');
    expect(answer.headers.connection).toBe('close');
    await waitFor(() => held.socket.destroyed || held.socket.readableEnded, 'the server to close the connection', 5000);
    await waitFor(async () => (await server.uploads()).length === 0, 'the partial file to be removed');
    expect(server.services.sessions.stats()).toMatchObject({ inflight: 0, tempBytes: 0 });
    expect((await transcribe(server, {})).status).toBe(200);
  });
});

describe('UPLOAD_DIR removed or replaced while running', () => {
  it('recreates a removed directory (0700); a file in its place makes /ready and uploads 503 until it is gone', async () => {
    const server = await start('dir', {});
    await rm(server.uploadDir, { recursive: true, force: true });
    const after = await transcribe(server, {});
    expect(after.status, after.text).toBe(200);
    const info = await lstat(server.uploadDir);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);

    await rm(server.uploadDir, { recursive: true, force: true });
    await writeFile(server.uploadDir, 'not a directory');
    const ready = await getJson(`${server.url}/ready`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, reason: 'upload directory unavailable' } });
    const refused = await transcribe(server, {});
    expect(refused.status).toBe(503);
    expect(errorCode(refused.json())).toBe('UPLOAD_DIR_UNAVAILABLE');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.text).not.toContain(server.uploadDir);

    await rm(server.uploadDir);
    expect((await getJson(`${server.url}/ready`)).status).toBe(200);
    expect((await transcribe(server, {})).status).toBe(200);
    await mkdir(server.uploadDir, { recursive: true }); // already there: recreated by /ready
  });
});
