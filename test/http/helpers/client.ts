// A bare HTTP client over node:http for the tests that need to hold or cut a connection: each
// request on its own connection (no keep-alive pool), the ClientRequest kept so a test can
// destroy the socket mid-request like a client that goes away.
import { request as httpRequest, type ClientRequest } from 'node:http';

import type { Body } from './multipart.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export interface Sent {
  request: ClientRequest;
  /** Resolves with the answer, or rejects when the connection fails or is destroyed. */
  answer: Promise<Answer>;
}

export function send(url: string, options: { method?: string; body?: Body; headers?: Record<string, string> } = {}): Sent {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body) {
    headers['content-type'] = options.body.contentType;
    headers['content-length'] = String(options.body.payload.length);
  }
  const request = httpRequest(url, { method: options.method ?? (options.body ? 'POST' : 'GET'), headers, agent: false });
  const answer = new Promise<Answer>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: () => JSON.parse(text) });
      });
    });
  });
  // An unobserved rejection (a request the test destroys on purpose) must not fail the run.
  answer.catch(() => undefined);
  request.end(options.body?.payload);
  return { request, answer };
}

/** GET `url` and parse JSON, with optional headers. */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const answer = await send(url, { headers }).answer;
  return { status: answer.status, body: answer.json() };
}
