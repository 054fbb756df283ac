import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  DEFAULT_MODEL_BASE_URL,
  fetchModel,
  isValidModelName,
  MODEL_BASE_URL_ENV,
  ModelFetchError,
  modelUrl,
  resolveModelBaseUrl,
  type FetchProgress,
} from '../../src/model/fetch.js';
import { KNOWN_MODELS, lookupKnownModel } from '../../src/model/known-models.js';
import {
  formatBytes,
  formatDuration,
  formatPercent,
  ProgressBar,
  type ProgressStream,
} from '../../src/cli/progress-bar.js';

// ---------------------------------------------------------------------------------------------
// A loopback server playing Hugging Face: /ok serves files, /redirect bounces to /ok, and the
// other prefixes misbehave in one specific way each.
// ---------------------------------------------------------------------------------------------

const PAYLOAD = randomBytes(256 * 1024 + 123);
const PAYLOAD_SHA256 = createHash('sha256').update(PAYLOAD).digest('hex');
const CHUNK = 32 * 1024;

let server: Server;
let base: string;
/** Requests seen, as "METHOD /path". */
let requests: string[] = [];
/** Responses held open by /stall, released in afterEach. */
const stalled = new Set<ServerResponse>();

function sendInChunks(res: ServerResponse, body: Buffer, stopAt = body.length, thenDestroy = false): void {
  let offset = 0;
  const step = (): void => {
    if (offset >= stopAt) {
      if (thenDestroy) res.socket?.destroy();
      else res.end();
      return;
    }
    const end = Math.min(offset + CHUNK, stopAt);
    res.write(body.subarray(offset, end));
    offset = end;
    setImmediate(step);
  };
  step();
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  requests.push(`${req.method} ${url}`);
  const [, route = '', ...rest] = url.split('/');
  const file = rest.join('/');

  switch (route) {
    case 'ok': {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': PAYLOAD.length });
      sendInChunks(res, PAYLOAD);
      return;
    }
    case 'chunked': {
      // No Content-Length: total is unknown to the client.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      sendInChunks(res, PAYLOAD);
      return;
    }
    case 'redirect': {
      // Two hops, the way Hugging Face sends /resolve/ to its CDN: relative, then absolute.
      res.writeHead(302, { location: `/redirect2/${file}` });
      res.end();
      return;
    }
    case 'redirect2': {
      res.writeHead(307, { location: `${base}/ok/${file}?signed=yes` });
      res.end();
      return;
    }
    case 'loop': {
      res.writeHead(302, { location: `/loop/${file}` });
      res.end();
      return;
    }
    case 'missing': {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Entry not found');
      return;
    }
    case 'error500': {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
      return;
    }
    case 'drop': {
      // Announces the full length, sends 40% of it, then the connection dies.
      res.writeHead(200, { 'content-length': PAYLOAD.length });
      sendInChunks(res, PAYLOAD, Math.floor(PAYLOAD.length * 0.4), true);
      return;
    }
    case 'drop-chunked': {
      res.writeHead(200, {});
      sendInChunks(res, PAYLOAD, Math.floor(PAYLOAD.length * 0.4), true);
      return;
    }
    case 'stall': {
      // Sends one chunk, then never anything else.
      res.writeHead(200, { 'content-length': PAYLOAD.length });
      res.write(PAYLOAD.subarray(0, CHUNK));
      stalled.add(res);
      return;
    }
    case 'small': {
      // A tiny body that claims to be whatever was asked for.
      res.writeHead(200, { 'content-length': 1000 });
      res.end(Buffer.alloc(1000, 7));
      return;
    }
    default: {
      res.writeHead(400);
      res.end();
    }
  }
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let dir: string;
let root: string;

beforeEach(async () => {
  requests = [];
  root = await mkdtemp(path.join(tmpdir(), 'talk2me-fetch-'));
  dir = path.join(root, 'models'); // deliberately not created: fetchModel must create it
});

afterEach(async () => {
  for (const res of stalled) res.destroy();
  stalled.clear();
  await rm(root, { recursive: true, force: true });
});

async function listDir(): Promise<string[]> {
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
}

async function expectCode(promise: Promise<unknown>, code: ModelFetchError['code']): Promise<ModelFetchError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected fetchModel to fail with ${code}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelFetchError);
  expect((err as ModelFetchError).code).toBe(code);
  return err as ModelFetchError;
}

// ---------------------------------------------------------------------------------------------

describe('fetchModel: success', () => {
  it('downloads, reports monotonic progress up to the total, and verifies the checksum', async () => {
    const progress: FetchProgress[] = [];
    const result = await fetchModel('test-model', {
      dir,
      baseUrl: `${base}/ok`,
      expectedSha256: PAYLOAD_SHA256.toUpperCase(), // case-insensitive
      onProgress: (p) => progress.push({ ...p }),
    });

    expect(result).toEqual({
      path: path.join(dir, 'ggml-test-model.bin'),
      bytes: PAYLOAD.length,
      sha256: PAYLOAD_SHA256,
      verified: true,
      skipped: false,
    });
    expect(Buffer.compare(await readFile(result.path), PAYLOAD)).toBe(0);
    expect(await listDir()).toEqual(['ggml-test-model.bin']);
    expect(requests).toEqual(['GET /ok/ggml-test-model.bin']);

    // Several callbacks, never decreasing, all with the known total, ending exactly at it.
    expect(progress.length).toBeGreaterThanOrEqual(4);
    expect(progress[0]).toEqual({ received: 0, total: PAYLOAD.length });
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.received).toBeGreaterThan(progress[i - 1]!.received);
      expect(progress[i]!.total).toBe(PAYLOAD.length);
    }
    expect(progress.at(-1)).toEqual({ received: PAYLOAD.length, total: PAYLOAD.length });
  });

  it('follows redirects (relative and absolute) to the file', async () => {
    const result = await fetchModel('via-cdn', { dir, baseUrl: `${base}/redirect/` });
    expect(result.bytes).toBe(PAYLOAD.length);
    expect(result.sha256).toBe(PAYLOAD_SHA256);
    expect(result.verified).toBe(false); // not in the table, no checksum given
    expect(requests).toEqual([
      'GET /redirect/ggml-via-cdn.bin',
      'GET /redirect2/ggml-via-cdn.bin',
      'GET /ok/ggml-via-cdn.bin?signed=yes',
    ]);
    expect(await listDir()).toEqual(['ggml-via-cdn.bin']);
  });

  it('works without Content-Length (total reported as null)', async () => {
    const totals = new Set<number | null>();
    const result = await fetchModel('chunky', {
      dir,
      baseUrl: `${base}/chunked`,
      onProgress: (p) => totals.add(p.total),
    });
    expect(result.sha256).toBe(PAYLOAD_SHA256);
    expect([...totals]).toEqual([null]);
  });

  it('uses TALK2ME_MODEL_BASE_URL when no base URL option is given', async () => {
    const saved = process.env[MODEL_BASE_URL_ENV];
    process.env[MODEL_BASE_URL_ENV] = `${base}/ok`;
    try {
      const result = await fetchModel('from-env', { dir });
      expect(result.bytes).toBe(PAYLOAD.length);
      expect(requests).toEqual(['GET /ok/ggml-from-env.bin']);
    } finally {
      if (saved === undefined) delete process.env[MODEL_BASE_URL_ENV];
      else process.env[MODEL_BASE_URL_ENV] = saved;
    }
  });
});

describe('fetchModel: existing destination', () => {
  it('skips a file whose checksum matches, and re-downloads with force', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'ggml-have.bin'), PAYLOAD);

    const skipped = await fetchModel('have', { dir, baseUrl: `${base}/ok`, expectedSha256: PAYLOAD_SHA256 });
    expect(skipped).toMatchObject({ skipped: true, verified: true, sha256: PAYLOAD_SHA256, bytes: PAYLOAD.length });
    expect(requests).toEqual([]);

    const forced = await fetchModel('have', { dir, baseUrl: `${base}/ok`, expectedSha256: PAYLOAD_SHA256, force: true });
    expect(forced).toMatchObject({ skipped: false, verified: true });
    expect(requests).toEqual(['GET /ok/ggml-have.bin']);
  });

  it('keeps an existing file with no known checksum (unverified) instead of downloading', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'ggml-mine.bin'), 'my own build');
    const result = await fetchModel('mine', { dir, baseUrl: `${base}/ok` });
    expect(result).toMatchObject({ skipped: true, verified: false, bytes: 12 });
    expect(requests).toEqual([]);
  });

  it('replaces an existing file whose checksum does not match once a good copy has arrived', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'ggml-stale.bin'), 'stale');
    const result = await fetchModel('stale', { dir, baseUrl: `${base}/ok`, expectedSha256: PAYLOAD_SHA256 });
    expect(result).toMatchObject({ skipped: false, verified: true });
    expect(Buffer.compare(await readFile(result.path), PAYLOAD)).toBe(0);
    expect(await listDir()).toEqual(['ggml-stale.bin']);
  });

  it('never clobbers an existing file when the replacement download fails', async () => {
    await mkdir(dir, { recursive: true });
    const good = path.join(dir, 'ggml-keep.bin');
    await writeFile(good, 'GOOD');

    await expectCode(fetchModel('keep', { dir, baseUrl: `${base}/missing`, force: true }), 'HTTP_ERROR');
    await expectCode(fetchModel('keep', { dir, baseUrl: `${base}/drop`, force: true }), 'NETWORK_ERROR');
    await expectCode(
      fetchModel('keep', { dir, baseUrl: `${base}/ok`, expectedSha256: 'f'.repeat(64) }),
      'CHECKSUM_MISMATCH',
    );

    expect(await readFile(good, 'utf8')).toBe('GOOD');
    expect(await listDir()).toEqual(['ggml-keep.bin']);
  });
});

describe('fetchModel: failures leave nothing behind', () => {
  it('checksum mismatch → CHECKSUM_MISMATCH, no file and no .part', async () => {
    const wrong = createHash('sha256').update('something else').digest('hex');
    const err = await expectCode(
      fetchModel('tiny-test', { dir, baseUrl: `${base}/ok`, expectedSha256: wrong }),
      'CHECKSUM_MISMATCH',
    );
    expect(err.message).toContain('Checksum mismatch for ggml-tiny-test.bin');
    expect(err.message).toContain(`expected ${wrong}, got ${PAYLOAD_SHA256}`);
    expect(err.message).toContain('the download was discarded');
    expect(await listDir()).toEqual([]);
  });

  it('HTTP 404 → HTTP_ERROR with the status, nothing left', async () => {
    const err = await expectCode(fetchModel('nope', { dir, baseUrl: `${base}/missing` }), 'HTTP_ERROR');
    expect(err.status).toBe(404);
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('known models are: tiny,');
    expect(await listDir()).toEqual([]);
  });

  it('HTTP 500 → HTTP_ERROR', async () => {
    const err = await expectCode(fetchModel('nope', { dir, baseUrl: `${base}/error500` }), 'HTTP_ERROR');
    expect(err.status).toBe(500);
    expect(await listDir()).toEqual([]);
  });

  it('connection dropped mid-body (Content-Length) → NETWORK_ERROR, nothing left', async () => {
    const progress: number[] = [];
    const err = await expectCode(
      fetchModel('dropped', { dir, baseUrl: `${base}/drop`, onProgress: (p) => progress.push(p.received) }),
      'NETWORK_ERROR',
    );
    expect(progress.at(-1)).toBeGreaterThan(0); // it really was mid-body
    expect(err.message).toContain('partial download was discarded');
    expect(await listDir()).toEqual([]);
  });

  it('connection dropped mid-body (chunked) → NETWORK_ERROR or SIZE_MISMATCH, nothing left', async () => {
    const err = await fetchModel('dropped', { dir, baseUrl: `${base}/drop-chunked` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelFetchError);
    expect(['NETWORK_ERROR', 'SIZE_MISMATCH']).toContain((err as ModelFetchError).code);
    expect(await listDir()).toEqual([]);
  });

  it('size differing from the known-models table → SIZE_MISMATCH before anything is written', async () => {
    // tiny.en is in the table at 77,704,715 bytes; this server announces 1000.
    expect(lookupKnownModel('tiny.en')?.size).toBe(77_704_715);
    const err = await expectCode(fetchModel('tiny.en', { dir, baseUrl: `${base}/small` }), 'SIZE_MISMATCH');
    expect(err.message).toContain('77704715');
    expect(await listDir()).toEqual([]);
  });

  it('abort mid-download via AbortSignal → ABORTED, nothing left', async () => {
    const controller = new AbortController();
    const err = await expectCode(
      fetchModel('stalled', {
        dir,
        baseUrl: `${base}/stall`,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.received > 0) controller.abort();
        },
      }),
      'ABORTED',
    );
    expect(err.message).toContain('cancelled');
    expect(await listDir()).toEqual([]);
  });

  it('abort while waiting for more data → ABORTED, nothing left', async () => {
    const controller = new AbortController();
    const promise = fetchModel('stalled2', { dir, baseUrl: `${base}/stall`, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expectCode(promise, 'ABORTED');
    expect(await listDir()).toEqual([]);
  });

  it('an already-aborted signal → ABORTED without any request', async () => {
    await expectCode(fetchModel('x', { dir, baseUrl: `${base}/ok`, signal: AbortSignal.abort() }), 'ABORTED');
    expect(requests).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('redirect loop → NETWORK_ERROR, nothing left', async () => {
    await expectCode(fetchModel('loopy', { dir, baseUrl: `${base}/loop` }), 'NETWORK_ERROR');
    expect(await listDir()).toEqual([]);
  });

  it('unreachable server → NETWORK_ERROR that names the env var to set', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const err = await expectCode(fetchModel('x', { dir, baseUrl: 'http://127.0.0.1:1' }), 'NETWORK_ERROR');
    expect(err.message).toContain(MODEL_BASE_URL_ENV);
    expect(await listDir()).toEqual([]);
  });

  it('destination is a directory → IO_ERROR', async () => {
    await mkdir(path.join(dir, 'ggml-weird.bin'), { recursive: true });
    await expectCode(fetchModel('weird', { dir, baseUrl: `${base}/ok` }), 'IO_ERROR');
    expect(requests).toEqual([]);
  });
});

describe('model names and URLs', () => {
  const bad = ['', '.', '..', '.hidden', '-rf', '../evil', 'a/b', 'a\\b', '/etc/passwd', 'x..y', 'foo bar', 'tiny\n', 'ünïcode', 'a'.repeat(129)];

  it.each(bad)('rejects %j with UNKNOWN_MODEL and touches nothing', async (name) => {
    expect(isValidModelName(name)).toBe(false);
    await expectCode(fetchModel(name, { dir, baseUrl: `${base}/ok` }), 'UNKNOWN_MODEL');
    expect(requests).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('accepts the published naming styles', () => {
    for (const name of ['tiny', 'tiny.en', 'base.en-q5_1', 'large-v3', 'large-v3-turbo', 'large-v3-turbo-q8_0', ...KNOWN_MODELS.keys()]) {
      expect(isValidModelName(name)).toBe(true);
    }
  });

  it('builds the Hugging Face URL by default and honours overrides', () => {
    const saved = process.env[MODEL_BASE_URL_ENV];
    delete process.env[MODEL_BASE_URL_ENV];
    try {
      expect(modelUrl('large-v3-turbo')).toBe(
        'https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-large-v3-turbo.bin',
      );
      expect(resolveModelBaseUrl()).toBe(DEFAULT_MODEL_BASE_URL);
      expect(resolveModelBaseUrl('https://mirror.example/models///')).toBe('https://mirror.example/models');
      expect(resolveModelBaseUrl(undefined, { [MODEL_BASE_URL_ENV]: 'http://m.local/x/' })).toBe('http://m.local/x');
      expect(() => resolveModelBaseUrl('ftp://x')).toThrow(/only http/);
      expect(() => resolveModelBaseUrl('not a url')).toThrow(TypeError);
    } finally {
      if (saved !== undefined) process.env[MODEL_BASE_URL_ENV] = saved;
    }
  });

  it('rejects a malformed expectedSha256 before any request', async () => {
    await expect(fetchModel('x', { dir, baseUrl: `${base}/ok`, expectedSha256: 'abc' })).rejects.toThrow(TypeError);
    expect(requests).toEqual([]);
  });

  it('known-models table entries are well-formed', () => {
    expect(KNOWN_MODELS.size).toBeGreaterThanOrEqual(10);
    for (const [name, m] of KNOWN_MODELS) {
      expect(m.name).toBe(name);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isSafeInteger(m.size) && m.size > 1_000_000).toBe(true);
    }
    const shas = [...KNOWN_MODELS.values()].map((m) => m.sha256);
    expect(new Set(shas).size).toBe(shas.length);
    expect(lookupKnownModel('constructor')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe('progress bar', () => {
  class Capture implements ProgressStream {
    out = '';
    isTTY: boolean;
    columns = 80;
    constructor(tty: boolean) {
      this.isTTY = tty;
    }
    write(chunk: string): boolean {
      this.out += chunk;
      return true;
    }
  }

  it('formats bytes, durations and percentages', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB');
    expect(formatBytes(77_704_715)).toBe('74.1 MiB');
    expect(formatBytes(3_095_033_483)).toBe('2.9 GiB');
    expect(formatDuration(7.4)).toBe('7s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(7440)).toBe('2h04m');
    expect(formatDuration(null)).toBe('--');
    expect(formatPercent(0, 200)).toBe('0.0%');
    expect(formatPercent(999_999, 1_000_000)).toBe('99.9%');
    expect(formatPercent(1_000_000, 1_000_000)).toBe('100.0%');
  });

  it('prints occasional plain lines when not a TTY', () => {
    const stream = new Capture(false);
    let t = 0;
    const bar = new ProgressBar({ stream, label: 'ggml-base.bin', now: () => t, plainIntervalMs: 5000 });
    const MiB = 1024 * 1024;
    const total = 100 * MiB;

    bar.update({ received: 0, total });
    t = 1000;
    bar.update({ received: 2 * MiB, total }); // too soon for a line
    expect(stream.out).toBe('');

    t = 5000;
    bar.update({ received: 10 * MiB, total }); // 10 MiB in 5 s → 2 MiB/s, 90 MiB left → 45 s
    t = 6000;
    bar.update({ received: 12 * MiB, total }); // too soon again
    t = 10_000;
    bar.update({ received: 40 * MiB, total });
    t = 20_000;
    bar.update({ received: total, total });
    bar.finish();

    expect(stream.out.split('\n')).toEqual([
      'ggml-base.bin: 10.0% (10.0 MiB of 100.0 MiB) at 2.0 MiB/s, ETA 45s',
      // The rate covers the last ~5 s: 30 MiB from t=5 s to t=10 s → 6 MiB/s, 60 MiB left → 10 s.
      'ggml-base.bin: 40.0% (40.0 MiB of 100.0 MiB) at 6.0 MiB/s, ETA 10s',
      'ggml-base.bin: 100.0% (100.0 MiB of 100.0 MiB) at 6.0 MiB/s, ETA 0s',
      'ggml-base.bin: done, 100.0 MiB in 20s (5.0 MiB/s)',
      '',
    ]);
    expect(stream.out).not.toContain('\r');
  });

  it('plain mode without a total shows bytes and rate only; fail() ends with the message', () => {
    const stream = new Capture(false);
    let t = 0;
    const bar = new ProgressBar({ stream, now: () => t, plainIntervalMs: 1000 });
    t = 2000;
    bar.onProgress({ received: 4096, total: null });
    bar.fail('connection lost');
    bar.update({ received: 8192, total: null }); // ignored after the end
    expect(stream.out).toBe('4.0 KiB at 2.0 KiB/s\nconnection lost\n');
  });

  it('redraws one line in place on a TTY and ends it with a newline', () => {
    const stream = new Capture(true);
    let t = 0;
    const bar = new ProgressBar({ stream, label: 'm', now: () => t, redrawIntervalMs: 100 });
    t = 1000;
    bar.update({ received: 50, total: 100 });
    t = 1050;
    bar.update({ received: 60, total: 100 }); // within the redraw interval: not drawn
    t = 2000;
    bar.update({ received: 100, total: 100 });
    bar.finish('done');

    const frames = stream.out.split('\r').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatch(/^m: \[#+-+\]  50\.0%  50 B \/ 100 B  \d+ B\/s  ETA \d+s$/);
    expect(frames[1]).toMatch(/^m: \[#+\] 100\.0%  100 B \/ 100 B/);
    expect(frames[2]).toMatch(/^m: done +\n$/);
    for (const f of frames) expect(f.replace(/\n$/, '').length).toBeLessThan(80);
  });
});
