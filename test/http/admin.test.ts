// The admin routes: absent (404) without ADMIN_TOKEN; with it, 401 without the right X-Admin-Token
// and the operator's view and levers with it; and the token never reaches a log line, whether the
// attempt failed or succeeded.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { ADMIN_TOKEN, errorCode, injectApp, listen, makeRoot, type HttpInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';

let root: Root;
let server: HttpInstance;

const WRONG_TOKENS = ['wrong-token-guessed-by-someone-0001', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), ADMIN_TOKEN.toUpperCase()];

const ROUTES = [
  { method: 'GET', url: '/admin/memory' },
  { method: 'POST', url: '/admin/memory/cleanup' },
  { method: 'POST', url: '/admin/model/reload' },
  { method: 'GET', url: '/admin/sessions' },
] as const;

beforeAll(async () => {
  root = await makeRoot('admin');
  // trace: every line Fastify and the services can write is written, so a leak would show.
  server = await listen(root, 'admin', { ADMIN_TOKEN, LOG_LEVEL: 'trace' });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

async function admin(method: string, url: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const headers: Record<string, string> = { ...(token !== null && { 'x-admin-token': token }), ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${url}`, {
    method,
    headers,
    ...(options.body !== undefined && { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function transcribe(headers: Record<string, string> = {}) {
  const body = await form([['audio', { data: clip(2), filename: 'a.wav' }]]);
  const response = await fetch(`${server.url}/transcribe`, { method: 'POST', body: body.payload, headers: { 'content-type': body.contentType, ...headers } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('without ADMIN_TOKEN', () => {
  it('the admin routes do not exist (404), whatever header is sent', async () => {
    const bare = await injectApp(root, 'admin-off');
    try {
      for (const { method, url } of ROUTES) {
        for (const headers of [{}, { 'x-admin-token': ADMIN_TOKEN }]) {
          const response = await bare.app.inject({ method, url, headers });
          expect(response.statusCode, `${method} ${url}`).toBe(404);
          expect(errorCode(response.json())).toBe('NOT_FOUND');
        }
      }
    } finally {
      await bare.close();
    }
  });
});

describe('with ADMIN_TOKEN', () => {
  it('401 without the header or with a wrong token, on every admin route', async () => {
    for (const { method, url } of ROUTES) {
      const none = await admin(method, url, { token: null });
      expect(none.status, `${method} ${url} without a token`).toBe(401);
      expect(errorCode(none.body)).toBe('UNAUTHORIZED');
      for (const token of [...WRONG_TOKENS, '']) {
        const wrong = await admin(method, url, { token });
        expect(wrong.status, `${method} ${url} with "${token}"`).toBe(401);
        expect(errorCode(wrong.body)).toBe('UNAUTHORIZED');
      }
      // The right token in the wrong header is no token.
      const bearer = await admin(method, url, { token: null, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(bearer.status).toBe(401);
    }
    // A refused reload reloaded nothing.
    expect(server.services.model.stats().reloadCount).toBe(0);
  });

  it('GET /admin/memory reports memory, temp files and the model', async () => {
    const { status, body } = await admin('GET', '/admin/memory');
    expect(status).toBe(200);
    expect(body.memory).toMatchObject({ process_mb: expect.any(Number), system_percent: expect.any(Number), gpu_mb: null, gpu_percent: null });
    expect(body.memory.process_mb).toBeGreaterThan(10);
    expect(body.memory.system_percent).toBeGreaterThan(0);
    expect(body.memory.system_percent).toBeLessThanOrEqual(100);
    expect(body.temp_files).toMatchObject({ count: 0, size_mb: 0 });
    expect(body.model).toMatchObject({ state: 'ready', path: root.model, reload_count: 0, last_reload: null });
  });

  it('POST /admin/memory/cleanup: aggressive trims; reload_model reloads and counts it', async () => {
    const aggressive = await admin('POST', '/admin/memory/cleanup', { body: { aggressive: true } });
    expect(aggressive.status).toBe(200);
    expect(aggressive.body.done.level).toBe('aggressive');
    expect(aggressive.body.done.steps.map((s: { level: string }) => s.level)).toEqual(['routine', 'aggressive']);
    expect(aggressive.body.before).toMatchObject({ process_mb: expect.any(Number) });
    expect(aggressive.body.after).toMatchObject({ process_mb: expect.any(Number) });

    const before = (await admin('GET', '/admin/memory')).body.model.reload_count as number;
    const reload = await admin('POST', '/admin/memory/cleanup', { body: { reload_model: true } });
    expect(reload.status).toBe(200);
    expect(reload.body.done.level).toBe('reload');
    const after = (await admin('GET', '/admin/memory')).body;
    expect(after.model.reload_count).toBe(before + 1);
    expect(Date.parse(after.model.last_reload)).toBeGreaterThan(Date.now() - 60_000);

    // An empty POST is a routine check.
    const routine = await admin('POST', '/admin/memory/cleanup');
    expect(routine.status).toBe(200);
    expect(routine.body.done.level).toBe('routine');

    for (const body of [{ aggressive: 'yes' }, { reload_model: 1 }, [true], '"aggressive"']) {
      const bad = await admin('POST', '/admin/memory/cleanup', { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      errorCode(bad.body);
    }
    const notJson = await admin('POST', '/admin/memory/cleanup', { body: '{aggressive' });
    expect(notJson.status).toBe(400);
    errorCode(notJson.body);
  });

  it('POST /admin/model/reload: a path with a NUL or another control character is a 400 and loads nothing', async () => {
    const before = (await admin('GET', '/admin/memory')).body.model;
    for (const path of [`${root.model}\u0000.txt`, `${root.model}\n`, `models/\u001b[31mred.bin`, `\u0085${root.model}`]) {
      const bad = await admin('POST', '/admin/model/reload', { body: { path } });
      expect(bad.status, JSON.stringify(path)).toBe(400);
      expect(errorCode(bad.body)).toBe('INVALID_PARAMETER');
      expect(bad.body.error.message).not.toContain(root.model);
    }
    const after = (await admin('GET', '/admin/memory')).body.model;
    expect(after).toMatchObject({ state: 'ready', path: before.path, reload_count: before.reload_count, reload_failures: before.reload_failures });
  });

  it('POST /admin/model/reload: a missing file is refused and the current model keeps serving; {} reloads', async () => {
    const before = (await admin('GET', '/admin/memory')).body.model;
    const missing = await admin('POST', '/admin/model/reload', { body: { path: join(root.path, 'no-such-model.bin') } });
    expect(missing.status).toBe(422);
    expect(errorCode(missing.body)).toMatch(/^MODEL_/);

    for (const body of [{ path: '' }, { path: 42 }, [1]]) {
      const bad = await admin('POST', '/admin/model/reload', { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      errorCode(bad.body);
    }

    const kept = (await admin('GET', '/admin/memory')).body.model;
    expect(kept).toMatchObject({ state: 'ready', path: before.path, reload_count: before.reload_count, reload_failures: before.reload_failures + 1, last_reload_ok: false });
    expect((await transcribe()).status).toBe(200);

    const ok = await admin('POST', '/admin/model/reload', { body: {} });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ reloaded: true, path: root.model, previous_path: root.model, load_ms: expect.any(Number) });
    expect((await admin('GET', '/admin/memory')).body.model).toMatchObject({ reload_count: before.reload_count + 1, last_reload_ok: true });

    // Two at once: one reloads, the other is told a reload is already running.
    const pair = await Promise.all([admin('POST', '/admin/model/reload', { body: {} }), admin('POST', '/admin/model/reload', { body: {} })]);
    expect(pair.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(errorCode(pair.find((r) => r.status === 409)!.body)).toBe('RELOAD_IN_PROGRESS');
    expect((await admin('GET', '/admin/memory')).body.model.reload_count).toBe(before.reload_count + 2);

    // Another file: the server switches to it.
    const copy = join(root.path, 'copy.bin');
    await copyFile(root.model, copy);
    const switched = await admin('POST', '/admin/model/reload', { body: { path: copy } });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ path: copy, previous_path: root.model });
    expect((await transcribe()).status).toBe(200);
    expect((await admin('GET', '/admin/memory')).body.model.path).toBe(copy);
  });

  it('GET /admin/sessions lists sessions by tag, never by id', async () => {
    const id = 'admin-test-session-7f3a9c';
    expect((await transcribe({ 'x-session-id': id })).status).toBe(200);
    const { status, body } = await admin('GET', '/admin/sessions');
    expect(status).toBe(200);
    expect(body.stats).toMatchObject({ active: expect.any(Number), inflight: 0, tempBytes: 0 });
    expect(body.stats.active).toBeGreaterThanOrEqual(1);
    expect(Array.isArray(body.sessions)).toBe(true);
    expect(body.sessions.length).toBe(body.stats.active);
    expect(JSON.stringify(body)).not.toContain(id);
  });

  it('never writes a token to the log file or stdout', async () => {
    // One more round of each kind of attempt, then read what was logged.
    await admin('GET', '/admin/memory', { token: WRONG_TOKENS[0] });
    await admin('GET', '/admin/memory');
    const file = await server.logText();
    const stdout = server.stdout.text;
    // The logs did record the admin traffic, so their silence about the tokens means something.
    for (const text of [file, stdout]) {
      expect(text).toContain('/admin/memory');
      expect(text).toContain('UNAUTHORIZED');
      for (const token of [ADMIN_TOKEN, ...WRONG_TOKENS.filter((t) => t.length > 0)]) expect(text).not.toContain(token);
    }
    // Lines are JSON (pino), and the file has the same lines as stdout.
    const lines = file.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
