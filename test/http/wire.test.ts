// What reaches the server on the wire, over raw sockets and real HTTP: requests Node or Fastify
// refuse before a route runs answer in the API's one error shape; every response, errors
// included, carries a request id and the security headers; a loopback server answers only Host
// names of this machine (DNS rebinding); the page's Content-Security-Policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { send } from './helpers/client.js';
import { errorCode, listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';
import { openSocket, parseAnswer, rawRequest } from './helpers/raw.js';

let root: Root;
let server: HttpInstance;
let hostPort: string;

beforeAll(async () => {
  root = await makeRoot('wire');
  server = await listen(root, 'wire', { ALLOWED_HOSTS: 'talk2me.example' });
  hostPort = new URL(server.url).host;
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

function expectCommonHeaders(headers: Record<string, string | string[] | undefined>): void {
  expect(headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
}

describe('errors before a route runs', () => {
  const cases: Array<{ name: string; request: () => string; status: number; code: string }> = [
    { name: 'a malformed request line', request: () => 'HELLO THERE\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
    { name: 'a space in a header name', request: () => `GET /health HTTP/1.1\r\nHost: ${hostPort}\r\nBad Header: x\r\n\r\n`, status: 400, code: 'MALFORMED_REQUEST' },
    { name: 'headers larger than Node takes', request: () => `GET /health HTTP/1.1\r\nHost: ${hostPort}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE' },
    {
      name: 'Transfer-Encoding and Content-Length together',
      request: () => `POST /transcribe HTTP/1.1\r\nHost: ${hostPort}\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    { name: 'a URL that does not decode', request: () => `GET /%E0%A4%A HTTP/1.1\r\nHost: ${hostPort}\r\nConnection: close\r\n\r\n`, status: 400, code: 'FST_ERR_BAD_URL' },
    { name: 'an unknown route', request: () => `GET /nope HTTP/1.1\r\nHost: ${hostPort}\r\nConnection: close\r\n\r\n`, status: 404, code: 'NOT_FOUND' },
    { name: 'a method no route takes', request: () => `PROPFIND /transcribe HTTP/1.1\r\nHost: ${hostPort}\r\nConnection: close\r\n\r\n`, status: 404, code: 'NOT_FOUND' },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code} in the API's shape, with a request id and the security headers`, async () => {
      const answer = await rawRequest(server.url, c.request());
      expect(answer.status).toBe(c.status);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(errorCode(JSON.parse(answer.body))).toBe(c.code);
      expectCommonHeaders(answer.headers);
    });
  }

  it('leaves the process serving', async () => {
    const answer = await send(`${server.url}/health`).answer;
    expect(answer.status).toBe(200);
  });
});

describe('X-Request-Id', () => {
  it('echoes a valid id, on success and on error, and names the request in the log', async () => {
    const ok = await send(`${server.url}/health`, { headers: { 'x-request-id': 'trace-0123.abc:9' } }).answer;
    expect(ok.headers['x-request-id']).toBe('trace-0123.abc:9');
    const missing = await send(`${server.url}/missing`, { headers: { 'x-request-id': 'trace-404' } }).answer;
    expect(missing.status).toBe(404);
    expect(missing.headers['x-request-id']).toBe('trace-404');
    expect(await server.logText()).toContain('"reqId":"trace-404"');
  });

  it('replaces an invalid id with a fresh one, and makes one when there is none', async () => {
    const bad = await send(`${server.url}/health`, { headers: { 'x-request-id': 'has spaces and "quotes"' } }).answer;
    expect(bad.headers['x-request-id']).not.toContain(' ');
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const long = await send(`${server.url}/health`, { headers: { 'x-request-id': 'a'.repeat(129) } }).answer;
    expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const a = await send(`${server.url}/health`).answer;
    const b = await send(`${server.url}/health`).answer;
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });
});

describe('Host check on a loopback server', () => {
  const hostOf = (host: string): string => `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

  it('answers a foreign Host with 421 HOST_NOT_ALLOWED in the API shape', async () => {
    const answer = await rawRequest(server.url, hostOf('evil.example:5005'));
    expect(answer.status).toBe(421);
    expect(errorCode(JSON.parse(answer.body))).toBe('HOST_NOT_ALLOWED');
    expectCommonHeaders(answer.headers);
  });

  it('answers the loopback names, with and without the port, and what ALLOWED_HOSTS lists', async () => {
    const port = new URL(server.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, 'talk2me.example', `TALK2ME.example:${port}`]) {
      expect((await rawRequest(server.url, hostOf(host))).status, host).toBe(200);
    }
  });
});

describe('the page', () => {
  it('carries the security headers and a CSP that allows only its own script and style', async () => {
    const page = await listen(root, 'wire-page', { WEB_ROOT: 'web/dist' });
    try {
      const answer = await send(`${page.url}/`).answer;
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('<script type="module" src="app.js">');
      expectCommonHeaders(answer.headers);
      const csp = String(answer.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      const script = await send(`${page.url}/app.js`).answer;
      expectCommonHeaders(script.headers);
    } finally {
      await page.close();
    }
  });
});

describe('while shutting down', () => {
  it('answers a request that arrives on a busy connection with 503 SHUTTING_DOWN in the API shape', async () => {
    const closing = await listen(root, 'wire-closing');
    const host = new URL(closing.url).host;
    const body = await form([['audio', { data: clip(10), filename: 'a.wav', type: 'audio/wav' }]]);
    const socket = await openSocket(closing.url);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /transcribe HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${body.contentType}\r\nContent-Length: ${body.payload.length}\r\n\r\n`);
    socket.write(body.payload);
    await waitFor(() => closing.services.model.inflight === 1, 'the transcription to start');
    const shutdown = closing.close();
    // Pipelined behind the running transcription, sent once closing has begun: Node parses it at
    // once (a request written earlier could be answered before the shutdown starts).
    socket.write(`GET /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await ended;
    await shutdown;
    const second = text.indexOf('HTTP/1.1 ', 1);
    expect(parseAnswer(text.slice(0, second), false).status).toBe(200);
    const answer = parseAnswer(text.slice(second), true);
    expect(answer.status).toBe(503);
    expect(errorCode(JSON.parse(answer.body))).toBe('SHUTTING_DOWN');
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expectCommonHeaders(answer.headers);
  });
});
