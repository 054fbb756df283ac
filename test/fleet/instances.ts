// talk2me processes for the fleet test (`node dist/cli.js serve`, as an operator runs it), their
// /metrics read directly, and clients that keep sending transcriptions through the load balancer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { form, type Body } from '../http/helpers/multipart.js';
import { clip } from '../http/helpers/audio.js';
import type { Child, ChildGroup, Exit } from './children.js';

const REPO = join(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'cli.js');
export const ADMIN_TOKEN = 'fleet-admin-token-0123456789abcdef';

export class Talk2meInstance {
  child: Child | null = null;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly env: Record<string, string>,
    readonly children: ChildGroup,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The instance label Prometheus gives its series. */
  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the process and resolves once it listens (the model is loaded by then). */
  async start(): Promise<void> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
    this.child = this.children.start(`talk2me ${this.name}`, process.execPath, [CLI, 'serve'], {
      cwd: REPO,
      env: { ...process.env, ...this.env, HOST: '127.0.0.1', PORT: String(this.port) },
    });
    await this.child.waitForOutput('talk2me is listening', 60_000);
  }

  /** SIGTERM, as an orchestrator stops it; resolves with how the process ended. */
  async terminate(): Promise<Exit> {
    const child = this.child;
    if (!child) throw new Error(`${this.name} is not running`);
    child.process.kill('SIGTERM');
    const exit = await child.exited;
    this.child = null;
    return exit;
  }

  async metricsText(): Promise<string> {
    const response = await fetch(`${this.url}/metrics`);
    if (response.status !== 200) throw new Error(`${this.name} /metrics: ${response.status}`);
    return response.text();
  }

  /** talk2me_http_requests_total for POST /transcribe answered 200. */
  async transcriptionsServed(): Promise<number> {
    return counterValue(await this.metricsText(), 'talk2me_http_requests_total', { route: '/transcribe', method: 'POST', status: '200' });
  }
}

/** The value of one series of `name` in Prometheus' text format whose labels include `labels`; 0 when absent. */
export function counterValue(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) {
      if (Object.keys(labels).length === 0) total += Number(line.slice(name.length + 1).trim());
      continue;
    }
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const found = Object.fromEntries([...line.slice(name.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total += Number(line.slice(close + 1).trim());
  }
  return total;
}

export interface Failure {
  at: number;
  what: string;
}

/** An audio upload as the clients send it: 1 s of the test signal (32 KB: more than one HAProxy buffer). */
export function uploadBody(): Promise<Body> {
  return form([['audio', { data: clip(1), filename: 'speech.wav', type: 'audio/wav' }]]);
}

/**
 * One transcription as API clients send it: fetch, whose connections are kept alive and reused
 * (as the OpenAI SDKs' are), so requests also reach HAProxy on connections it already holds.
 */
export async function transcribeThrough(url: string, body: Body, session: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/transcribe`, { method: 'POST', body: body.payload, headers: { 'content-type': body.contentType, 'x-session-id': session } });
  return { status: response.status, text: await response.text() };
}

/**
 * `concurrency` clients, each sending one transcription after another to `url` until stopped. Every
 * answer but a 200 with a transcript, and every connection error, is a failure.
 */
export class ClientLoad {
  ok = 0;
  readonly failures: Failure[] = [];
  #running = false;
  #loops: Array<Promise<void>> = [];

  constructor(
    readonly url: string,
    readonly concurrency: number,
    readonly body: Body,
  ) {}

  start(): void {
    this.#running = true;
    this.#loops = Array.from({ length: this.concurrency }, (_, i) => this.#loop(`fleet-client-${i}`));
  }

  async #loop(session: string): Promise<void> {
    while (this.#running) {
      try {
        const answer = await transcribeThrough(this.url, this.body, session);
        if (answer.status === 200 && typeof JSON.parse(answer.text).text === 'string') this.ok++;
        else this.failures.push({ at: Date.now(), what: `${answer.status} ${answer.text.slice(0, 200)}` });
      } catch (err) {
        this.failures.push({ at: Date.now(), what: `${(err as Error).message} ${String((err as Error).cause ?? '')}` });
      }
    }
  }

  /** Stops sending; resolves once the requests in flight are answered. */
  async stop(): Promise<{ ok: number; failures: Failure[] }> {
    this.#running = false;
    await Promise.all(this.#loops);
    return { ok: this.ok, failures: this.failures };
  }
}
