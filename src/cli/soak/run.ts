// The soak itself: a warm-up of the same mix, then the measured requests in equal chunks, C clients
// at a time, with a reading of the server after each chunk. Per request only its kind, status and
// time are kept, in arrays sized up front, so that a soak in the server's own process adds nothing
// to the memory it measures.
import { performance } from 'node:perf_hooks';

import { send, type Answer } from './client.js';
import { SoakSchedule, type MixEntry } from './kinds.js';
import type { ServerReading, SoakTarget } from './target.js';

export interface RunOptions {
  mix: readonly MixEntry[];
  requests: number;
  warmup: number;
  concurrency: number;
  /** Readings of the server over the measured requests. */
  samples: number;
  timeoutMs: number;
  seed: number;
  apiKey?: string;
  /** Each client's X-Session-Id is this plus its number. */
  sessionPrefix: string;
  signal: AbortSignal;
  progress?: (line: string) => void;
}

/** What came back for a run of requests, by index. */
export interface Answers {
  schedule: SoakSchedule;
  /** HTTP status; 0 when none came. */
  status: Uint16Array;
  /** 1 when the client hung up on purpose. */
  hungUp: Uint8Array;
  ms: Float64Array;
  wallMs: number;
  /** How many were sent (fewer than scheduled when interrupted). */
  sent: number;
}

export interface Sample extends ServerReading {
  /** Measured requests answered when it was taken. */
  requests: number;
}

export interface SoakRun {
  warmup: Answers;
  measured: Answers;
  samples: Sample[];
  /** The server after the warm-up, and after the run once the temp files of hung-up clients had time to go. */
  before: ServerReading;
  after: ServerReading;
  /** The first body seen for each kind and status that is not a 2xx, for the report. */
  examples: Map<string, string>;
  interrupted: boolean;
}

const MAX_EXAMPLES = 64;
/** How long the server gets to remove what hung-up clients left, after the last answer. */
const SETTLE_MS = 5000;
/** Connections just answered are still closing: the fds are counted a moment later. */
const SOCKETS_CLOSE_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function answersFor(schedule: SoakSchedule): Answers {
  const n = schedule.length;
  return { schedule, status: new Uint16Array(n), hungUp: new Uint8Array(n), ms: new Float64Array(n), wallMs: 0, sent: 0 };
}

class Runner {
  readonly examples = new Map<string, string>();
  readonly #authorization: Record<string, string>;

  constructor(
    private readonly target: SoakTarget,
    private readonly options: RunOptions,
  ) {
    this.#authorization = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  }

  #record(answers: Answers, index: number, answer: Answer): void {
    answers.status[index] = answer.status ?? 0;
    answers.hungUp[index] = answer.hungUp ? 1 : 0;
    answers.ms[index] = answer.ms;
    const status = answer.status;
    if (status !== null && status >= 200 && status < 300) return;
    const key = `${answers.schedule.kind(index).name} ${status ?? (answer.hungUp ? 'hung up' : 'no answer')}`;
    if (this.examples.size < MAX_EXAMPLES && !this.examples.has(key)) this.examples.set(key, status === null ? (answer.error ?? '') : answer.preview);
  }

  /** Requests [from, to) of `answers`, `concurrency` at a time; stops taking new ones once interrupted. */
  async chunk(answers: Answers, from: number, to: number): Promise<void> {
    const { schedule } = answers;
    let next = from;
    const started = performance.now();
    const client = async (c: number): Promise<void> => {
      const session = { 'x-session-id': `${this.options.sessionPrefix}${c}`, ...this.#authorization };
      while (next < to && !this.options.signal.aborted) {
        const index = next++;
        const request = schedule.request(index);
        const answer = await send(this.target.url, request, request.anonymous ? this.#authorization : session, this.options.timeoutMs);
        this.#record(answers, index, answer);
        answers.sent++;
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency }, (_, c) => client(c)));
    answers.wallMs += performance.now() - started;
  }
}

export async function runSoak(target: SoakTarget, options: RunOptions): Promise<SoakRun> {
  const { progress = () => undefined, signal } = options;
  const runner = new Runner(target, options);
  // The warm-up runs the same mix in another order: error paths, ffmpeg and large uploads get
  // compiled and the allocator settles on them before the first reading.
  const warmup = answersFor(new SoakSchedule(options.mix, options.warmup, options.seed + 1));
  if (options.warmup > 0) {
    progress(`warm-up: ${options.warmup} requests`);
    await runner.chunk(warmup, 0, options.warmup);
  }
  const measured = answersFor(new SoakSchedule(options.mix, options.requests, options.seed, options.warmup));
  await sleep(SOCKETS_CLOSE_MS);
  const before = await target.read();
  const samples: Sample[] = [{ requests: 0, ...before }];
  const chunkSize = Math.max(1, Math.ceil(options.requests / options.samples));
  const reportEvery = Math.max(chunkSize, Math.ceil(options.requests / 10));
  for (let from = 0; from < options.requests && !signal.aborted; from += chunkSize) {
    const to = Math.min(options.requests, from + chunkSize);
    await runner.chunk(measured, from, to);
    samples.push({ requests: measured.sent, ...(await target.read()) });
    if (Math.floor(to / reportEvery) > Math.floor(from / reportEvery) || to === options.requests) {
      progress(`${to} of ${options.requests} requests, RSS ${((samples.at(-1) as Sample).rssBytes / 1024 / 1024).toFixed(1)} MB`);
    }
  }
  // Clients that hung up: the server notices on its own time. Give it a moment before counting.
  await sleep(SOCKETS_CLOSE_MS);
  let after = await target.read();
  for (const deadline = performance.now() + SETTLE_MS; (after.tempFiles ?? 0) > 0 && performance.now() < deadline && !signal.aborted; ) {
    await sleep(200);
    after = await target.read();
  }
  return { warmup, measured, samples, before, after, examples: runner.examples, interrupted: signal.aborted };
}
