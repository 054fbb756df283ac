// The soak's HTTP client: one request per TCP connection (no keep-alive, so every request costs the
// server a connection's set-up and tear-down, as clients behind NAT and scripts do), bodies built
// once up front, and clients that hang up on purpose — half-way through their upload, or once it is
// sent and the server is working on it. Never rejects: every failure is an answer with no status.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

export interface SoakRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Sent without the client's session header: a client that keeps no cookies. */
  anonymous?: boolean;
  /** Send this many bytes of the body, then hang up. */
  abortAfterBytes?: number;
  /** Send the whole body, wait this long, then hang up (while the server decodes or transcribes). */
  abortAfterSentMs?: number;
}

export interface Answer {
  /** The HTTP status, or null when none came (the client hung up, a network error, a timeout). */
  status: number | null;
  ms: number;
  /** The first bytes of the answer's body. */
  preview: string;
  /** Why there is no status. */
  error?: string;
  /** The client hung up on purpose before an answer came. */
  hungUp: boolean;
}

export interface FilePart {
  name: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

const BOUNDARY = '----talk2me-soak-7f3a9c';
const PREVIEW_BYTES = 300;

/** A multipart/form-data body: text fields first, then the files, as browsers and SDKs send them. */
export function multipartBody(fields: ReadonlyArray<readonly [string, string]>, files: readonly FilePart[]): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) {
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const file of files) {
    chunks.push(
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}

export function multipartRequest(path: string, fields: ReadonlyArray<readonly [string, string]>, files: readonly FilePart[]): SoakRequest {
  const { body, contentType } = multipartBody(fields, files);
  return { method: 'POST', path, headers: { 'content-type': contentType }, body };
}

/** The URL of `path` under `base`, keeping a path prefix the base may have (https://host/stt/). */
export function urlOf(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

function open(url: URL, options: RequestOptions, onAnswer: (res: IncomingMessage) => void): ClientRequest {
  return url.protocol === 'https:' ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
}

/** One request on a fresh connection. */
export function send(base: URL, prepared: SoakRequest, extraHeaders: Record<string, string>, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let hungUp = false;
    const finish = (status: number | null, preview: string, error?: string): void => {
      if (settled) return;
      settled = true;
      resolve({ status, ms: performance.now() - started, preview, hungUp, ...(error !== undefined && { error }) });
    };
    const hangUp = (): void => {
      if (settled) return;
      hungUp = true;
      req.destroy();
      finish(null, '', 'the client hung up (on purpose)');
    };
    const headers: Record<string, string> = { ...prepared.headers, ...extraHeaders, connection: 'close' };
    if (prepared.method === 'POST') headers['content-length'] = String(prepared.body.length);
    const req = open(urlOf(base, prepared.path), { method: prepared.method, agent: false, headers }, (res) => {
      let preview = '';
      res.on('data', (chunk: Buffer) => {
        if (preview.length < PREVIEW_BYTES) preview += chunk.toString('utf8', 0, Math.min(chunk.length, PREVIEW_BYTES));
      });
      res.on('end', () => finish(res.statusCode ?? null, preview.slice(0, PREVIEW_BYTES)));
      res.on('error', (err) => finish(res.statusCode ?? null, preview.slice(0, PREVIEW_BYTES), err.message));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err) => finish(null, '', (err as NodeJS.ErrnoException).code ?? err.message));
    if (prepared.abortAfterBytes !== undefined) {
      // Part of the body, then the connection goes away while the server is still reading it.
      req.write(prepared.body.subarray(0, prepared.abortAfterBytes), () => setTimeout(hangUp, 20));
      return;
    }
    if (prepared.abortAfterSentMs !== undefined) {
      const delayMs = prepared.abortAfterSentMs;
      req.end(prepared.body, () => setTimeout(hangUp, delayMs));
      return;
    }
    req.end(prepared.method === 'POST' ? prepared.body : undefined);
  });
}
