/**
 * The load generator's side of bench/http.ts: request bodies built once up front (so building them
 * costs nothing while measuring), one request per TCP connection (no keep-alive: cpp-httplib and
 * Node close idle connections on different schedules, and a reused socket the server has just
 * closed would show up as a spurious error on one side only), and N clients working through a
 * fixed number of requests. Only ever talks to the loopback address it is given. Multipart bodies
 * are built as `talk2me soak` builds them (src/cli/soak/client.ts).
 */
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

import { multipartBody, type FilePart } from '../src/cli/soak/client.js';

export type { FilePart };

export interface PreparedRequest {
  /** Label for the tallies (e.g. "good", "garbage"). */
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Send this many bytes of the body, then drop the connection (a client that goes away). */
  abortAfterBytes?: number;
  /** Send the whole body, then drop the connection this many ms later unless the answer came first (a client that gives up while the server works). */
  abortAfterMs?: number;
  /** Sent without the client's own headers (no session id): a client that keeps no cookies. */
  anonymous?: boolean;
}

export interface Outcome {
  kind: string;
  /** HTTP status, or null when no response came (network error, client abort). */
  status: number | null;
  ms: number;
  /** The first bytes of the response body. */
  body: string;
  error?: string;
}

export function multipartRequest(kind: string, path: string, fields: ReadonlyArray<[string, string]>, files: readonly FilePart[]): PreparedRequest {
  const { body, contentType } = multipartBody(fields, files);
  return { kind, path, headers: { 'content-type': contentType }, body };
}

// Whole transcripts of the clips benchmarked (the texts are compared across servers), and no more
// of a body nobody reads.
const RESPONSE_PREVIEW = 16 * 1024;

/** One request on a fresh connection; never rejects: failures come back as an Outcome. */
export function send(baseUrl: string, prepared: PreparedRequest, extraHeaders: Record<string, string> = {}, timeoutMs = 120_000): Promise<Outcome> {
  const url = new URL(prepared.path, baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error(`bench/http only talks to 127.0.0.1, not ${url.hostname}`);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number | null, body: string, error?: string): void => {
      if (settled) return;
      settled = true;
      resolve({ kind: prepared.kind, status, ms: performance.now() - started, body, ...(error !== undefined && { error }) });
    };
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        agent: false,
        headers: { ...prepared.headers, ...extraHeaders, 'content-length': String(prepared.body.length), connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_PREVIEW) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on('end', () => finish(res.statusCode ?? null, Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_PREVIEW)));
        res.on('error', (err) => finish(res.statusCode ?? null, '', err.message));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => finish(null, '', (err as NodeJS.ErrnoException).code ?? err.message));
    if (prepared.abortAfterBytes !== undefined) {
      // Part of the body, then the connection goes away while the server is still reading it.
      req.write(prepared.body.subarray(0, prepared.abortAfterBytes), () => {
        setTimeout(() => {
          req.destroy();
          finish(null, '', 'aborted by the client (on purpose)');
        }, 20);
      });
      return;
    }
    req.end(prepared.body, () => {
      if (prepared.abortAfterMs === undefined) return;
      setTimeout(() => {
        if (settled) return;
        req.destroy();
        finish(null, '', 'aborted by the client (on purpose)');
      }, prepared.abortAfterMs);
    });
  });
}

export interface ClientRun {
  outcomes: Outcome[];
  wallMs: number;
}

/**
 * `clients` concurrent clients work through `requests` in order, each taking the next one when its
 * previous answer has arrived. Client c sends `headersFor(c)` (e.g. its own session id) with every
 * request that is not `anonymous`.
 */
export async function runClients(
  baseUrl: string,
  requests: readonly PreparedRequest[],
  clients: number,
  headersFor: (client: number) => Record<string, string> = () => ({}),
  onProgress?: (done: number) => void,
): Promise<ClientRun> {
  const outcomes: Outcome[] = new Array<Outcome>(requests.length);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async (client: number): Promise<void> => {
    for (;;) {
      const index = next++;
      const prepared = requests[index];
      if (prepared === undefined) return;
      outcomes[index] = await send(baseUrl, prepared, prepared.anonymous === true ? {} : headersFor(client));
      done++;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, clients) }, (_, c) => worker(c)));
  return { outcomes, wallMs: performance.now() - started };
}

/** GET a small text resource (health, metrics) from the server under test. */
export function getText(baseUrl: string, path: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  const url = new URL(path, baseUrl);
  if (url.hostname !== '127.0.0.1') throw new Error(`bench/http only talks to 127.0.0.1, not ${url.hostname}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
