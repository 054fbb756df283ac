/**
 * talk2me's HTTP server against whisper.cpp's own whisper-server, both built from the same vendored
 * whisper.cpp, on the same synthetic model, the same audio, the same threads and the same decoding.
 *
 *   npm run bench:http        # = tsx bench/http.ts [--pairs 15] [--throughput-requests 24]
 *                             #   [--throughput-rounds 3] [--clients 4] [--threads CORES]
 *                             #   [--rss-warmup 1000] [--rss-requests 1000] [--rss-batch 25]
 *                             #   [--soak-warmup 500] [--soak-requests 2000] [--seconds 5]
 *                             #   [--seed N] [--keep-temp]
 *
 * The load generator (this process, which holds no model) sends every request on its own TCP
 * connection to 127.0.0.1; talk2me runs in a forked process of its own (bench/http-talk2me.ts:
 * startServer(readServerConfig(env))), whisper-server as a spawned process. Servers that are
 * compared run at the same time and requests to them alternate, so a slower stretch of the shared
 * 2-core machine hits all of them; CPU used meanwhile by other people's processes is shown.
 *
 * Part 1, synthetic tiny.en model (real dimensions, random weights), a 5 s clip:
 *   - single-request latency, alternating talk2me (MAX_CONCURRENCY=1, WHISPER_THREADS=CORES),
 *     talk2me (MAX_CONCURRENCY=2, WHISPER_THREADS=CORES/2) and whisper-server (-t CORES);
 *   - throughput of `clients` concurrent clients sending a fixed number of requests, same servers.
 * Part 2, the `mini` synthetic model (width 64, one layer) and a 1 s clip, so that thousands of
 * requests fit in minutes; what is measured is what the server holds on to per request, not the
 * model's speed:
 *   - RSS growth per request after a warm-up, talk2me (its defaults) and whisper-server (-t CORES)
 *     alternating batches, least-squares slope over the samples. The warm-up is long (1000
 *     requests): talk2me's RSS still climbs by 10-20 MB over its first ~800 requests (JIT-compiled
 *     code, allocator arenas settling) and then stays flat, which a short warm-up would report as
 *     a leak of 10+ MB per 1000 requests. talk2me's RSS is read as it is
 *     and again right after a full garbage collection in its process (its young generation alone
 *     swings the RSS by tens of MB, which would bury a growth of a few KB per request);
 *   - a soak of mixed good and bad requests against talk2me (after a warm-up of the same mix):
 *     5xx, temp files left, fds, RSS slope.
 *
 * Exits 0 whether or not the goals are met; it prints which are.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { defaultConcurrency, threadBudget } from '../src/http/config.js';
import { writeSyntheticModel } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';
import { pcm16Wav } from './http-audio.js';
import { getText, multipartRequest, runClients, send, type Outcome, type PreparedRequest } from './http-client.js';
import { fdKinds, machineBusyMs, openFds, processCpuMs, rssBytes } from './http-procfs.js';
import { startTalk2me, startWhisperServer, type RunningPeer } from './http-servers.js';
import { soakKinds, soakSchedule } from './http-soak.js';
import { buildPeers, comparePeerBuild, describeComparison } from './peers.js';
import { f0, f1, f2, f3, linearFit, median, range } from './stats.js';

const GOALS = { latency: 1.05, throughput: 1.3, rssMbPer1000: 1 } as const;
/** Other processes' CPU during one latency iteration (three requests, ~2 s) before it counts as disturbed. */
const OTHER_CPU_LIMIT_MS = 150;

// ---------------------------------------------------------------------------------------------
// Decoding, identical on both sides.
//
// talk2me's routes transcribe with WhisperModel's defaults: greedy, best_of 1, beam 1,
// temperature 0, timestamps on, flash attention on, but temperature fallback on (increment 0.2),
// which the routes cannot turn off. With the synthetic model the fallback always fires (its text
// fails whisper's log-probability threshold) and then samples at t > 0 with a generator seeded once
// per whisper state, so the work and the text of a request vary at random. So the talk2me child
// runs with --no-fallback (its model wrapped to pass temperatureIncrement 0; see
// bench/http-talk2me.ts) and whisper-server is told the same per request.
//
// whisper-server's defaults differ: best_of 2 (-bo 1), beam_size -1 = greedy (-bs 1 to be
// explicit), token-level timestamps on (which also applies its max_len 60 segment wrapping; the
// form field token_timestamps=false turns both off), fallback on (its -nf flag is parsed but never
// used by the server in whisper.cpp 1.9.1: temperature_inc=0 must be sent as a form field).
// Both get language en (talk2me maps "auto" to "en" on an English-only model anyway) and answer
// JSON. Both keep their whisper state between requests and start each request without context.
const WHISPER_SERVER_DECODING_ARGS = ['-l', 'en', '-bo', '1', '-bs', '1', '-fa'] as const;
const WHISPER_SERVER_FIELDS: Array<[string, string]> = [
  ['language', 'en'],
  ['temperature', '0'],
  ['temperature_inc', '0'],
  ['token_timestamps', 'false'],
  ['response_format', 'json'],
];
const TALK2ME_FIELDS: Array<[string, string]> = [
  ['language', 'en'],
  ['response_format', 'json'],
];

// ---------------------------------------------------------------------------------------------
// Small helpers

const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const verdict = (met: boolean): string => (met ? 'MET' : 'MISSED');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function positiveInt(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(text)}`);
  return n;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** CPU that processes other than ours used between two readings. */
class OtherCpu {
  #busy = 0;
  #ours = 0;
  constructor(private readonly pids: () => number[]) {
    this.reset();
  }

  #oursNow(): number {
    const self = process.cpuUsage();
    let ms = (self.user + self.system) / 1000;
    for (const pid of this.pids()) {
      try {
        ms += processCpuMs(pid);
      } catch {
        // gone
      }
    }
    return ms;
  }

  reset(): void {
    this.#busy = machineBusyMs();
    this.#ours = this.#oursNow();
  }

  /** Others' CPU time (ms) since the last reset. */
  read(): number {
    return Math.max(0, machineBusyMs() - this.#busy - (this.#oursNow() - this.#ours));
  }
}

/** The transcript text of a 200 answer, from either server's JSON. */
function answerText(outcome: Outcome): string | null {
  if (outcome.status !== 200) return null;
  try {
    const parsed = JSON.parse(outcome.body) as { text?: unknown };
    return typeof parsed.text === 'string' ? parsed.text.trim() : null;
  } catch {
    return null;
  }
}

function requireOk(label: string, outcomes: readonly Outcome[]): void {
  const bad = outcomes.filter((o) => o.status !== 200);
  if (bad.length > 0) {
    const first = bad[0] as Outcome;
    throw new Error(`${label}: ${bad.length} of ${outcomes.length} requests failed; first: ${String(first.status)} ${first.error ?? ''} ${first.body.slice(0, 200)}`);
  }
}

interface Server extends RunningPeer {
  /** A good transcription request with the given clip, in this server's dialect. */
  request: PreparedRequest;
  kind: 'talk2me' | 'whisper-server';
}

const sessionOf = (name: string) => (client: number) => ({ 'x-session-id': `bench-${name}-${client}` });

async function warmUp(server: Server, clients: number, rounds: number): Promise<Outcome[]> {
  // Concurrent first, so a talk2me with several whisper states creates and touches all of them.
  const run = await runClients(server.url, Array.from({ length: clients * rounds }, () => server.request), clients, sessionOf('warm'));
  const single = await send(server.url, server.request, { 'x-session-id': 'bench-warm-single' });
  const outcomes = [...run.outcomes, single];
  requireOk(`warm-up of ${server.label}`, outcomes);
  return outcomes;
}

// ---------------------------------------------------------------------------------------------
// Part 1: latency and throughput, tiny.en dimensions

interface LatencyResult {
  medians: Map<string, number>;
  ratios: Map<string, number[]>;
  disturbed: number;
}

async function measureLatency(servers: readonly Server[], reference: Server, pairs: number, other: OtherCpu): Promise<LatencyResult> {
  const times = new Map<string, number[]>(servers.map((s) => [s.label, []]));
  const ratios = new Map<string, number[]>(servers.filter((s) => s !== reference).map((s) => [s.label, []]));
  let disturbed = 0;
  log(`| iter | ${servers.map((s) => `${s.label} (ms)`).join(' | ')} | ${[...ratios.keys()].map((l) => `${l} / ${reference.label}`).join(' | ')} | other CPU (ms) |`);
  log(`|---:|${servers.map(() => '---:').join('|')}|${[...ratios.keys()].map(() => '---:').join('|')}|---:|`);
  for (let i = 0; i < pairs; i++) {
    other.reset();
    const row = new Map<string, number>();
    for (const server of rotate(servers, i)) {
      const outcome = await send(server.url, server.request, { 'x-session-id': 'bench-latency' });
      requireOk(`latency request to ${server.label}`, [outcome]);
      row.set(server.label, outcome.ms);
      times.get(server.label)?.push(outcome.ms);
    }
    const others = other.read();
    if (others > OTHER_CPU_LIMIT_MS) disturbed++;
    const ref = row.get(reference.label) as number;
    const rowRatios = [...ratios.keys()].map((label) => {
      const r = (row.get(label) as number) / ref;
      ratios.get(label)?.push(r);
      return f3(r);
    });
    log(`| ${i + 1} | ${servers.map((s) => f1(row.get(s.label) as number)).join(' | ')} | ${rowRatios.join(' | ')} | ${f0(others)} |`);
  }
  return { medians: new Map([...times].map(([label, xs]) => [label, median(xs)])), ratios, disturbed };
}

interface ThroughputRun {
  label: string;
  round: number;
  requestsPerS: number;
  p50Ms: number;
  cpuMsPerRequest: number;
  otherCpuMs: number;
}

async function measureThroughput(servers: readonly Server[], requests: number, clients: number, rounds: number, other: OtherCpu): Promise<ThroughputRun[]> {
  const runs: ThroughputRun[] = [];
  log(`| round | server | wall (s) | requests/s | median latency (ms) | server CPU per request (ms) | other CPU (ms) |`);
  log('|---:|---|---:|---:|---:|---:|---:|');
  for (let round = 0; round < rounds; round++) {
    for (const server of rotate(servers, round)) {
      const cpuBefore = processCpuMs(server.pid);
      other.reset();
      const run = await runClients(server.url, Array.from({ length: requests }, () => server.request), clients, sessionOf('throughput'));
      const others = other.read();
      requireOk(`throughput run on ${server.label}`, run.outcomes);
      const result: ThroughputRun = {
        label: server.label,
        round: round + 1,
        requestsPerS: requests / (run.wallMs / 1000),
        p50Ms: median(run.outcomes.map((o) => o.ms)),
        cpuMsPerRequest: (processCpuMs(server.pid) - cpuBefore) / requests,
        otherCpuMs: others,
      };
      runs.push(result);
      log(`| ${result.round} | ${server.label} | ${f2(run.wallMs / 1000)} | ${f3(result.requestsPerS)} | ${f0(result.p50Ms)} | ${f0(result.cpuMsPerRequest)} | ${f0(others)} |`);
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Part 2: RSS growth and the soak, mini model

interface RssSeries {
  label: string;
  requests: number[];
  rss: number[];
  bytesPerRequest: number;
  r2: number;
  /** Standard error of the slope: the samples' scatter decides how small a growth the run can see. */
  bytesPerRequestError: number;
  /** The slope over the second half of the samples alone: growth that goes on, not settling. */
  secondHalfBytesPerRequest: number;
}

function rssSeries(label: string, requests: number[], rss: number[]): RssSeries {
  const fit = linearFit(requests, rss);
  const half = Math.floor(requests.length / 2);
  const late = linearFit(requests.slice(half), rss.slice(half));
  return { label, requests, rss, bytesPerRequest: fit.slope, r2: fit.r2, bytesPerRequestError: fit.slopeError, secondHalfBytesPerRequest: late.slope };
}

const mbPer1000 = (bytesPerRequest: number): number => (bytesPerRequest * 1000) / 1024 / 1024;

/** Every sample, in MB, so the shape (steady growth, a step, a plateau) can be seen. */
function rssSamples(series: RssSeries): string {
  return `${series.label}, samples (MB, every ${series.requests[1] ?? 0} requests): ${series.rss.map((b) => mb(b)).join(' ')}`;
}

/**
 * The RSS goal against a slope and its uncertainty: MET when the slope plus two standard errors is
 * within the goal, MISSED when the slope minus two is above it, otherwise the run could not tell.
 */
function rssVerdict(series: RssSeries): string {
  const slope = mbPer1000(series.bytesPerRequest);
  const margin = 2 * mbPer1000(Number.isFinite(series.bytesPerRequestError) ? series.bytesPerRequestError : 0);
  const goal = GOALS.rssMbPer1000;
  const outcome = slope + margin <= goal ? 'MET' : slope - margin > goal ? 'MISSED' : slope <= goal ? 'MET (within noise: not resolved)' : 'MISSED (within noise: not resolved)';
  return `${f3(slope)} ± ${f3(margin)} MB (goal <= ${goal} MB: ${outcome})`;
}

function describeRss(series: RssSeries): string {
  const first = series.rss[0] ?? 0;
  const last = series.rss[series.rss.length - 1] ?? 0;
  return (
    `${series.label}: RSS ${mb(first)} -> ${mb(last)} MB (min ${mb(Math.min(...series.rss))}, max ${mb(Math.max(...series.rss))}) over ` +
    `${series.requests[series.requests.length - 1] ?? 0} requests, ${series.rss.length} samples; slope ${f2(series.bytesPerRequest / 1024)} KB/request = ` +
    `${f3(mbPer1000(series.bytesPerRequest))} ± ${f3(2 * mbPer1000(series.bytesPerRequestError))} (2 SE) MB per 1000 requests (r² ${f2(series.r2)}); second half alone ${f3(mbPer1000(series.secondHalfBytesPerRequest))} MB per 1000`
  );
}

/**
 * RSS samples of one server: VmRSS as read, and for talk2me also VmRSS right after a full garbage
 * collection (V8's young generation alone swings talk2me's RSS by 10-30 MB from one sample to the
 * next, which buries a growth of a few KB per request; after a GC what is left is what the process
 * keeps). whisper-server has no garbage collector: both series are the same reading.
 */
class RssSampler {
  readonly requests: number[] = [];
  readonly raw: number[] = [];
  readonly settled: number[] = [];
  /** talk2me: V8's heap in use and memory outside it (Buffers, ArrayBuffers), after the GC. */
  readonly heapUsed: number[] = [];
  readonly external: number[] = [];
  constructor(private readonly server: Server) {}

  async sample(requestsSoFar: number): Promise<void> {
    const raw = rssBytes(this.server.pid);
    let settled = raw;
    if (this.server.settle) {
      const memory = await this.server.settle();
      settled = rssBytes(this.server.pid);
      this.heapUsed.push(memory.heapUsed);
      this.external.push(memory.external);
    }
    this.requests.push(requestsSoFar);
    this.raw.push(raw);
    this.settled.push(settled);
  }

  /** What a GC'd talk2me holds in JavaScript, so RSS growth can be told apart from JS heap growth. */
  describeHeap(): string | null {
    if (this.heapUsed.length < 2) return null;
    const heap = linearFit(this.requests, this.heapUsed);
    const external = linearFit(this.requests, this.external);
    const ends = (xs: number[]): string => `${mb(xs[0] ?? 0)} -> ${mb(xs[xs.length - 1] ?? 0)} MB`;
    return (
      `${this.server.label}, after a full GC: V8 heap used ${ends(this.heapUsed)}, ${f2(heap.slope / 1024)} KB/request (r² ${f2(heap.r2)}); ` +
      `external (Buffers, ArrayBuffers) ${ends(this.external)}, ${f2(external.slope / 1024)} KB/request (r² ${f2(external.r2)})`
    );
  }

  get done(): number {
    return this.requests[this.requests.length - 1] ?? 0;
  }

  series(): { raw: RssSeries; settled: RssSeries } {
    return {
      raw: rssSeries(`${this.server.label}, VmRSS`, this.requests, this.raw),
      settled: rssSeries(`${this.server.label}, VmRSS after a full GC`, this.requests, this.settled),
    };
  }
}

interface RssGrowth {
  server: Server;
  raw: RssSeries;
  settled: RssSeries;
  heap: string | null;
}

async function measureRssGrowth(servers: readonly Server[], requests: number, batch: number, clients: number): Promise<RssGrowth[]> {
  const samplers = servers.map((server) => ({ server, sampler: new RssSampler(server) }));
  for (const { sampler } of samplers) await sampler.sample(0);
  const batches = Math.ceil(requests / batch);
  for (let b = 0; b < batches; b++) {
    for (const { server, sampler } of rotate(samplers, b)) {
      const n = Math.min(batch, requests - sampler.done);
      const run = await runClients(server.url, Array.from({ length: n }, () => server.request), clients, sessionOf('rss'));
      requireOk(`RSS batch on ${server.label}`, run.outcomes);
      await sampler.sample(sampler.done + n);
    }
    if ((b + 1) % 10 === 0) progress(`  RSS: ${(b + 1) * batch} of ${requests} requests per server`);
  }
  return samplers.map(({ server, sampler }) => ({ server, ...sampler.series(), heap: sampler.describeHeap() }));
}

function metricValue(metrics: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(metrics);
  return match ? Number(match[1]) : null;
}

async function filesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

interface SoakResult {
  requests: number;
  fiveXx: number;
  networkErrors: number;
  unexpected: number;
  tempFilesLeft: number;
  fdsBefore: number;
  fdsAfter: number;
  rss: RssSeries;
  rssSettled: RssSeries;
  wallS: number;
}

async function soak(server: Server, uploadDir: string, count: number, warmUp: number, clients: number, seed: number, kinds: ReturnType<typeof soakKinds>, other: OtherCpu): Promise<SoakResult> {
  // A warm-up of the same mix (another order): new code paths (errors, ffmpeg, large uploads) get
  // compiled and the allocator settles on them before the baseline is taken.
  const warm = await runClients(server.url, soakSchedule(kinds, warmUp, seed + 1), clients, sessionOf('soak'));
  const warmFiveXx = warm.outcomes.filter((o) => o.status !== null && o.status >= 500).length;
  log(`warm-up: ${warmUp} requests of the same mix, ${warmFiveXx} of them 5xx`);
  const schedule = soakSchedule(kinds, count, seed);
  await sleep(500); // let the previous sockets close
  const fdsBefore = openFds(server.pid);
  const kindsBefore = fdKinds(server.pid);
  const metricsBefore = (await getText(server.url, '/metrics')).text;
  const sampler = new RssSampler(server);
  await sampler.sample(0);
  // In chunks, with an RSS sample (and a GC in the server) between them.
  const chunk = Math.max(1, Math.ceil(count / 40));
  const outcomes: Outcome[] = [];
  let wallMs = 0;
  other.reset();
  for (let from = 0; from < schedule.length; from += chunk) {
    const part = await runClients(server.url, schedule.slice(from, from + chunk), clients, sessionOf('soak'));
    outcomes.push(...part.outcomes);
    wallMs += part.wallMs;
    await sampler.sample(outcomes.length);
    if (Math.floor(outcomes.length / 500) > Math.floor((outcomes.length - part.outcomes.length) / 500)) progress(`  soak: ${outcomes.length} of ${count}`);
  }
  const others = other.read();
  const run = { outcomes, wallMs };

  // The clients that hung up mid-upload: the server notices on its own time. Give it a moment.
  let left = await filesIn(uploadDir);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await sleep(100);
    left = await filesIn(uploadDir);
  }
  await sleep(500);
  const fdsAfter = openFds(server.pid);
  const kindsAfter = fdKinds(server.pid);
  const metricsAfter = (await getText(server.url, '/metrics')).text;

  log(`| kind | share | expected | requests | answers |`);
  log('|---|---:|---|---:|---|');
  let fiveXx = 0;
  let networkErrors = 0;
  let unexpected = 0;
  for (const kind of kinds) {
    const outcomes = run.outcomes.filter((o) => o.kind === kind.name);
    const tally = new Map<string, number>();
    for (const o of outcomes) {
      const key = o.status === null ? `no answer (${o.error ?? '?'})` : String(o.status);
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (o.status !== null && o.status >= 500) fiveXx++;
      if (o.status === null && kind.expected !== 'none') networkErrors++;
      const ok = kind.expected === 'none' ? o.status === null : o.status !== null && kind.expected.includes(String(o.status));
      if (!ok) unexpected++;
    }
    const answers = [...tally].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
    log(`| ${kind.name} | ${kind.percent}% | ${kind.expected} | ${outcomes.length} | ${answers} |`);
  }
  const examples = new Map<string, string>();
  for (const o of run.outcomes) {
    if (o.status !== null && o.status !== 200 && !examples.has(`${o.kind} ${o.status}`)) examples.set(`${o.kind} ${o.status}`, o.body.slice(0, 160));
  }
  log();
  log('One answer of each kind and status, as the client got it:');
  for (const [key, body] of examples) log(`- ${key}: ${body}`);
  log();

  const describeKinds = (k: Record<string, number>): string => Object.entries(k).sort().map(([name, n]) => `${name} ${n}`).join(', ');
  log(`requests: ${count} (${kinds.filter((k) => k.good).reduce((s, k) => s + k.percent, 0)}% good), ${clients} clients, wall ${f1(run.wallMs / 1000)} s, other CPU ${f0(others)} ms`);
  fiveXx += warmFiveXx;
  log(`5xx answers: ${fiveXx} (warm-up included); no answer where one was due: ${networkErrors}; answers other than expected: ${unexpected}`);
  log(`temp files left in UPLOAD_DIR: ${left.length}${left.length > 0 ? ` (${left.slice(0, 5).join(', ')})` : ''}`);
  log(`open fds of the server: ${fdsBefore} before (${describeKinds(kindsBefore)}), ${fdsAfter} after (${describeKinds(kindsAfter)})`);
  const gauge = (name: string): string => `${String(metricValue(metricsBefore, name))} -> ${String(metricValue(metricsAfter, name))}`;
  log(`from /metrics, before -> after: talk2me_sessions_active ${gauge('talk2me_sessions_active')}, talk2me_temp_files ${gauge('talk2me_temp_files')}, talk2me_whisper_states ${gauge('talk2me_whisper_states')}`);
  const { raw, settled } = sampler.series();
  log(describeRss(raw));
  log(describeRss(settled));
  const heap = sampler.describeHeap();
  if (heap) log(heap);
  log(rssSamples(settled));
  return { requests: count, fiveXx, networkErrors, unexpected, tempFilesLeft: left.length, fdsBefore, fdsAfter, rss: raw, rssSettled: settled, wallS: run.wallMs / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      pairs: { type: 'string', default: '15' },
      'throughput-requests': { type: 'string', default: '24' },
      'throughput-rounds': { type: 'string', default: '3' },
      clients: { type: 'string', default: '4' },
      threads: { type: 'string', default: String(availableParallelism()) },
      seconds: { type: 'string', default: '5' },
      'rss-requests': { type: 'string', default: '1000' },
      'rss-batch': { type: 'string', default: '25' },
      'rss-warmup': { type: 'string', default: '1000' },
      'soak-requests': { type: 'string', default: '2000' },
      'soak-warmup': { type: 'string', default: '500' },
      seed: { type: 'string', default: '20261128' },
      'keep-temp': { type: 'boolean', default: false },
    },
  });
  const pairs = positiveInt('pairs', args.pairs);
  const throughputRequests = positiveInt('throughput-requests', args['throughput-requests']);
  const throughputRounds = positiveInt('throughput-rounds', args['throughput-rounds']);
  const clients = positiveInt('clients', args.clients);
  const threads = positiveInt('threads', args.threads);
  const seconds = positiveInt('seconds', args.seconds);
  const rssRequests = positiveInt('rss-requests', args['rss-requests']);
  const rssBatch = positiveInt('rss-batch', args['rss-batch']);
  const warmRequests = positiveInt('rss-warmup', args['rss-warmup']);
  const soakRequests = positiveInt('soak-requests', args['soak-requests']);
  const soakWarmup = positiveInt('soak-warmup', args['soak-warmup']);
  const seed = positiveInt('seed', args.seed);

  const started = performance.now();
  const peers = await buildPeers({ log: progress });
  if (!peers.server) throw new Error('whisper-server was not built');
  const buildLines = describeComparison(comparePeerBuild());

  const dir = await mkdtemp(join(tmpdir(), 'talk2me-bench-http-'));
  const running: RunningPeer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  };
  const other = new OtherCpu(() => running.map((s) => s.pid));
  // Ctrl-C or a kill: stop the servers (they would outlive this process) and remove the temp dir.
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping the servers`);
    void stopAll()
      .then(() => (args['keep-temp'] ? undefined : rm(dir, { recursive: true, force: true })))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const tinyPath = join(dir, 'tiny-synthetic.bin');
    const miniPath = join(dir, 'mini-synthetic.bin');
    const tiny = await writeSyntheticModel(tinyPath, { dims: 'tiny' });
    const mini = await writeSyntheticModel(miniPath, { dims: 'mini' });
    const clip = pcm16Wav(syllableTones(seconds));
    const shortClip = pcm16Wav(syllableTones(1));
    const oversized = pcm16Wav(syllableTones(40)); // 1.28 MB: over the soak server's MAX_UPLOAD_MB=1
    await writeFile(join(dir, 'clip.wav'), clip);

    const cores = availableParallelism();
    // Two fixed splits of the threads, and the defaults: MAX_CONCURRENCY states sharing the cores
    // (threads: null), a lone request getting all of them.
    type Talk2meConfig = { concurrency: number; threads: number | null };
    const defaults: Talk2meConfig = { concurrency: defaultConcurrency(cores), threads: null };
    const configs: Talk2meConfig[] = [
      { concurrency: 1, threads },
      { concurrency: 2, threads: Math.max(1, Math.floor(threads / 2)) },
      defaults,
    ];
    const t2mLabel = (c: Talk2meConfig): string => (c.threads === null ? `talk2me MC=${c.concurrency} shared` : `talk2me MC=${c.concurrency} WT=${c.threads}`);

    const talk2meSettings = (name: string, model: string, c: Talk2meConfig, extra: Record<string, string> = {}) => ({
      WHISPER_MODEL: model,
      MAX_CONCURRENCY: String(c.concurrency),
      ...(c.threads !== null && { WHISPER_THREADS: String(c.threads) }),
      LOG_FILE: join(dir, `${name}.pino.log`),
      UPLOAD_DIR: join(dir, `uploads-${name}`),
      WEB_ROOT: join(dir, 'no-web-root'),
      ...extra,
    });

    log('# bench:http — talk2me server vs whisper-server');
    log();
    log(`date:        ${new Date().toISOString()}`);
    log(`machine:     ${cpus()[0]?.model ?? '?'}, ${cores} cores, ${f0(totalmem() / 1024 ** 3)} GB; node ${process.version}`);
    for (const line of buildLines) log(`build:       ${line}`);
    log(`talk2me:     defaults on this machine: MAX_CONCURRENCY=${defaults.concurrency}, WHISPER_THREADS unset: ${threadBudget(cores)} threads shared (a lone request gets all, requests starting together split them)${threadBudget(cores) === threads ? '' : ` — NOT the ${threads} threads whisper-server gets`}; started as bench/http-talk2me.ts --no-fallback (startServer(readServerConfig(env)) in a child process)`);
    log(`decoding:    both: greedy, best_of 1, beam 1, temperature 0, no temperature fallback, segment timestamps on, no token timestamps, language en, flash attention on, no context between requests`);
    log(`             talk2me: POST /transcribe, fields ${TALK2ME_FIELDS.map(([k, v]) => `${k}=${v}`).join(' ')}; its model wrapped to pass temperatureIncrement 0 (the rest are WhisperModel's defaults)`);
    log(`             whisper-server: ${[peers.server, '--host 127.0.0.1 --port N -m MODEL -t T', ...WHISPER_SERVER_DECODING_ARGS].join(' ')}; POST /inference, fields ${WHISPER_SERVER_FIELDS.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    log(`client:      this process (no model), one TCP connection per request, X-Session-Id per client`);
    log();

    // ---------------------------------------------------------------- part 1
    const tinyRequest = {
      talk2me: multipartRequest('good', '/transcribe', TALK2ME_FIELDS, [{ name: 'audio', filename: 'clip.wav', contentType: 'audio/wav', data: clip }]),
      whisper: multipartRequest('good', '/inference', WHISPER_SERVER_FIELDS, [{ name: 'file', filename: 'clip.wav', contentType: 'audio/wav', data: clip }]),
    };
    progress('starting the tiny.en servers');
    const part1: Server[] = [];
    for (const c of configs) {
      const name = `tiny-mc${c.concurrency}-wt${c.threads ?? 'shared'}`;
      const peer = await startTalk2me({ label: t2mLabel(c), settings: talk2meSettings(name, tinyPath, c), noFallback: true, logFile: join(dir, `${name}.out`) });
      running.push(peer);
      part1.push({ ...peer, request: tinyRequest.talk2me, kind: 'talk2me' });
    }
    const ws = await startWhisperServer({ label: `whisper-server -t ${threads}`, binary: peers.server, model: tinyPath, threads, decodingArgs: WHISPER_SERVER_DECODING_ARGS, logFile: join(dir, 'tiny-whisper-server.out') });
    running.push(ws);
    const wsServer: Server = { ...ws, request: tinyRequest.whisper, kind: 'whisper-server' };
    part1.push(wsServer);

    log(`## Part 1: latency and throughput (synthetic tiny.en ${f1(tiny.bytes / 1e6)} MB, ${seconds} s clip, ${f0(clip.length / 1024)} KB WAV)`);
    log();
    progress('warming up');
    const texts = new Map<string, Set<string>>();
    for (const server of part1) {
      const outcomes = await warmUp(server, clients, 1);
      texts.set(server.label, new Set(outcomes.map((o) => answerText(o) ?? '?')));
    }
    const rssStart = new Map(part1.map((s) => [s.label, rssBytes(s.pid)]));
    log(`warm-up: ${clients} concurrent + 1 single request per server; texts: ${[...texts].map(([l, t]) => `${l} ${JSON.stringify([...t])}`).join('; ')}`);
    const allTexts = new Set([...texts.values()].flatMap((t) => [...t]));
    log(`texts ${allTexts.size === 1 ? 'MATCH' : 'DIFFER'} across servers`);
    log();

    progress('single-request latency');
    log(`### Single-request latency: ${pairs} iterations, one request to each server per iteration, order rotated`);
    log();
    const latency = await measureLatency(part1, wsServer, pairs, other);
    log();
    for (const server of part1) log(`- ${server.label}: median ${f1(latency.medians.get(server.label) as number)} ms`);
    for (const [label, rs] of latency.ratios) log(`- ${label} / ${wsServer.label}: median of per-iteration ratios ${f3(median(rs))} (range ${range(rs)})`);
    if (latency.disturbed > 0) log(`WARNING: in ${latency.disturbed} of ${pairs} iterations other processes used more than ${OTHER_CPU_LIMIT_MS} ms of CPU: disturbed`);
    log();

    progress('throughput');
    log(`### Throughput: ${clients} concurrent clients, ${throughputRequests} requests per run, ${throughputRounds} round(s), server order rotated`);
    log();
    const throughput = await measureThroughput(part1, throughputRequests, clients, throughputRounds, other);
    log();
    const rpsOf = (label: string): number[] => throughput.filter((r) => r.label === label).map((r) => r.requestsPerS);
    const throughputRatios = new Map<string, number[]>();
    for (const server of part1.filter((s) => s !== wsServer)) {
      const mine = rpsOf(server.label);
      const theirs = rpsOf(wsServer.label);
      throughputRatios.set(server.label, mine.map((x, i) => x / (theirs[i] as number)));
    }
    for (const server of part1) log(`- ${server.label}: median ${f3(median(rpsOf(server.label)))} requests/s`);
    for (const [label, rs] of throughputRatios) log(`- ${label} / ${wsServer.label}: requests/s ratio, median over rounds ${f3(median(rs))} (range ${range(rs)})`);
    log(`- RSS after part 1: ${part1.map((s) => `${s.label} ${mb(rssStart.get(s.label) as number)} -> ${mb(rssBytes(s.pid))} MB`).join('; ')}`);
    log();
    await stopAll();

    // ---------------------------------------------------------------- part 2
    const defaultConfig = defaults;
    const soakUploadDir = join(dir, 'uploads-mini');
    progress('starting the mini servers');
    const miniTalk2me = await startTalk2me({
      label: `${t2mLabel(defaultConfig)} (mini)`,
      settings: { ...talk2meSettings('mini', miniPath, defaultConfig), UPLOAD_DIR: soakUploadDir, MAX_UPLOAD_MB: '1' },
      noFallback: true,
      logFile: join(dir, 'mini-talk2me.out'),
    });
    running.push(miniTalk2me);
    const miniWs = await startWhisperServer({ label: `whisper-server -t ${threads} (mini)`, binary: peers.server, model: miniPath, threads, decodingArgs: WHISPER_SERVER_DECODING_ARGS, logFile: join(dir, 'mini-whisper-server.out') });
    running.push(miniWs);
    const part2: Server[] = [
      { ...miniTalk2me, kind: 'talk2me', request: multipartRequest('good', '/transcribe', TALK2ME_FIELDS, [{ name: 'audio', filename: 'clip.wav', contentType: 'audio/wav', data: shortClip }]) },
      { ...miniWs, kind: 'whisper-server', request: multipartRequest('good', '/inference', WHISPER_SERVER_FIELDS, [{ name: 'file', filename: 'clip.wav', contentType: 'audio/wav', data: shortClip }]) },
    ];
    log(`## Part 2: RSS growth and soak (synthetic mini model ${f1(mini.bytes / 1e6)} MB, 1 s clip, ${f0(shortClip.length / 1024)} KB WAV; talk2me also MAX_UPLOAD_MB=1)`);
    log();
    progress('RSS growth: warm-up');
    // Alternating batches like the measurement itself: a server left idle for the minute the other
    // one warms up hands memory back (V8 shrinks its heap when idle) and regrows it at once,
    // which would show up as a step at the start of the series.
    for (let done = 0; done < warmRequests; done += rssBatch) {
      for (const server of part2) {
        const n = Math.min(rssBatch, warmRequests - done);
        const run = await runClients(server.url, Array.from({ length: n }, () => server.request), clients, sessionOf('rss'));
        requireOk(`RSS warm-up of ${server.label}`, run.outcomes);
      }
    }
    progress('RSS growth');
    log(`### RSS growth: ${warmRequests} warm-up requests, then ${rssRequests} per server, in batches of ${rssBatch} (${clients} clients), servers alternating batch by batch, VmRSS after each measured batch`);
    log();
    other.reset();
    const rssStartedAt = performance.now();
    const growth = await measureRssGrowth(part2, rssRequests, rssBatch, clients);
    for (const g of growth) {
      log(`- ${describeRss(g.raw)}`);
      if (g.server.settle) log(`- ${describeRss(g.settled)}`);
      if (g.heap) log(`- ${g.heap}`);
      log(`- ${rssSamples(g.server.settle ? g.settled : g.raw)}`);
    }
    log(`- wall ${f1((performance.now() - rssStartedAt) / 1000)} s, other CPU ${f0(other.read())} ms`);
    log();

    progress('soak');
    log(`### Soak: ${soakRequests} mixed requests against ${miniTalk2me.label}, ${clients} clients`);
    log();
    await mkdir(soakUploadDir, { recursive: true });
    const soakResult = await soak(part2[0] as Server, soakUploadDir, soakRequests, soakWarmup, clients, seed, soakKinds({ clip: shortClip, oversized }, seed), other);
    log();
    await stopAll();

    // ---------------------------------------------------------------- summary
    const [mc1, mc2] = configs.map(t2mLabel) as [string, string];
    const defaultLabel = t2mLabel(defaultConfig);
    const latencyRatio = median(latency.ratios.get(mc1) ?? []);
    const defaultLatencyRatio = median(latency.ratios.get(defaultLabel) ?? []);
    const throughputRatio = median(throughputRatios.get(defaultLabel) ?? []);
    const t2mGrowth = growth[0] as RssGrowth;
    const wsGrowth = growth[1] as RssGrowth;
    const perThousand = (s: RssSeries): number => mbPer1000(s.bytesPerRequest);
    const fdGrowth = soakResult.fdsAfter - soakResult.fdsBefore;
    log('## Summary');
    log();
    log(`1. single-request latency, ${mc1} / whisper-server -t ${threads} (same threads): ${f3(latencyRatio)}, goal <= ${GOALS.latency}: ${verdict(latencyRatio <= GOALS.latency)}`);
    log(`   ${defaultLabel} (talk2me's defaults here) / whisper-server: ${f3(defaultLatencyRatio)}, goal <= ${GOALS.latency}: ${verdict(defaultLatencyRatio <= GOALS.latency)}`);
    log(`   ${mc2} / whisper-server: ${f3(median(latency.ratios.get(mc2) ?? []))}; medians ${part1.map((s) => `${s.label} ${f0(latency.medians.get(s.label) as number)} ms`).join(', ')}`);
    log(`2. throughput, ${clients} clients, ${defaultLabel} (talk2me's defaults here) / whisper-server -t ${threads}: ${f3(throughputRatio)}, goal >= ${GOALS.throughput}: ${verdict(throughputRatio >= GOALS.throughput)}`);
    for (const [label, rs] of throughputRatios) if (label !== defaultLabel) log(`   ${label} / whisper-server: ${f3(median(rs))}`);
    log(`   requests/s: ${part1.map((s) => `${s.label} ${f3(median(rpsOf(s.label)))}`).join(', ')}`);
    const talk2meLabels = configs.map(t2mLabel);
    const best = (score: (label: string) => number): string => talk2meLabels.reduce((a, b) => (score(b) > score(a) ? b : a));
    log(`   talk2me settings: single request fastest with ${best((l) => -(latency.medians.get(l) as number))}; ${clients}-client throughput highest with ${best((l) => median(rpsOf(l)))}`);
    log(`3. RSS growth per 1000 requests after warm-up (mini model, 1 s clip, ${rssRequests} requests, slope ± 2 standard errors): talk2me after a full GC ${rssVerdict(t2mGrowth.settled)}, as read ${rssVerdict(t2mGrowth.raw)}; whisper-server ${f3(perThousand(wsGrowth.raw))} MB`);
    log(`4. soak of ${soakResult.requests} mixed requests: answers other than expected ${soakResult.unexpected}; 5xx ${soakResult.fiveXx} (goal 0: ${verdict(soakResult.fiveXx === 0)}); temp files left ${soakResult.tempFilesLeft} (goal 0: ${verdict(soakResult.tempFilesLeft === 0)}); fds ${soakResult.fdsBefore} -> ${soakResult.fdsAfter} (${fdGrowth >= 0 ? '+' : ''}${fdGrowth}: ${verdict(fdGrowth <= 0)})`);
    log(`   RSS per 1000 requests: after a full GC ${rssVerdict(soakResult.rssSettled)}, as read ${rssVerdict(soakResult.rss)}`);
    log(`(whole run ${f0((performance.now() - started) / 1000)} s)`);
  } finally {
    await stopAll();
    if (args['keep-temp']) log(`(kept ${dir})`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
