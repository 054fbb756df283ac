/**
 * talk2me's HTTP server against whisper.cpp's own whisper-server, both built from the same vendored
 * whisper.cpp, on the same synthetic model, the same audio, the same threads and the same decoding.
 *
 *   npm run bench:http        # = tsx bench/http.ts [--pairs 15] [--throughput-requests 24]
 *                             #   [--throughput-rounds 3] [--clients 4] [--threads CORES]
 *                             #   [--rss-warmup 1000] [--rss-requests 1000] [--rss-batch 25]
 *                             #   [--soak-warmup 500] [--soak-requests 2000] [--seconds 5]
 *                             #   [--loads encoder-bound,speechlike] [--part all|1|2]
 *                             #   [--seed N] [--keep-temp]
 *
 * The load generator (this process, which holds no model) sends every request on its own TCP
 * connection to 127.0.0.1; talk2me runs in a forked process of its own (bench/http-talk2me.ts:
 * startServer(readServerConfig(env))), whisper-server as a spawned process. Servers that are
 * compared run at the same time and requests to them alternate, so a slower stretch of the shared
 * 2-core machine hits all of them; CPU used meanwhile by other people's processes is shown.
 *
 * Every part runs once per load (--loads): the synthetic model's default decoder, which emits a
 * token or so per clip (the encoder does nearly all the work), and the speech-like one
 * (src/model/speechlike.ts: 2.4 text tokens per second of audio, as real speech makes whisper emit).
 *
 * Part 1, synthetic tiny.en model (real dimensions, random weights), a 5 s clip:
 *   - single-request latency, alternating talk2me (MAX_CONCURRENCY=1, WHISPER_THREADS=CORES),
 *     talk2me (MAX_CONCURRENCY=2, WHISPER_THREADS=CORES/2) and whisper-server (-t CORES);
 *   - throughput of `clients` concurrent clients sending a fixed number of requests, same servers;
 *   - the ceiling of that ratio with one state per CORES/2 threads: states × whisper-server's
 *     latency / the latency of one such state alone, i.e. every core busy with no contention.
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
 *   - a soak of mixed good and bad requests against talk2me (after a warm-up of the same mix),
 *     with large uploads and clients hanging up mid-upload and mid-transcription: 5xx, temp files
 *     left, fds, RSS slope.
 *
 * Exits 0 whether or not the goals are met; it prints which are.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { defaultConcurrency, threadBudget } from '../src/server/index.js';
import { SYNTHETIC_DECODERS, writeSyntheticModel, type SyntheticDecoder } from '../src/model/synthetic.js';
import { SPEECHLIKE_TOKENS_PER_SECOND } from '../src/model/speechlike.js';
import { syllableTones } from '../test/helpers/signals.js';
import { pcm16Wav } from './http-audio.js';
import { getText, multipartRequest, runClients, send, type Outcome, type PreparedRequest } from './http-client.js';
import { TALK2ME_FIELDS, WHISPER_SERVER_DECODING_ARGS, WHISPER_SERVER_FIELDS } from './http-decoding.js';
import { fdKinds, openFds, OtherCpu, processCpuMs, rssBytes } from './http-procfs.js';
import { describeRss, mb, mbPer1000, RssSampler, rssSamples, type RssSeries } from './http-rss.js';
import { startTalk2me, startWhisperServer, type RunningPeer } from './http-servers.js';
import { soakKinds, soakSchedule } from './http-soak.js';
import { buildPeers, comparePeerBuild, describeComparison } from './peers.js';
import { f0, f1, f2, f3, median, range } from './stats.js';

const GOALS = { latency: 1.05, throughput: 1.3, rssMbPer1000: 1 } as const;
/** Other processes' CPU during one latency iteration (three requests, ~2 s) before it counts as disturbed. */
const OTHER_CPU_LIMIT_MS = 150;

// ---------------------------------------------------------------------------------------------
// Small helpers

const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
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

/**
 * The transcript text of a 200 answer, from either server's JSON, its whitespace collapsed:
 * whisper-server puts a newline between segments where talk2me keeps the segments' own spaces.
 */
function answerText(outcome: Outcome): string | null {
  if (outcome.status !== 200) return null;
  try {
    const parsed = JSON.parse(outcome.body) as { text?: unknown };
    return typeof parsed.text === 'string' ? parsed.text.replace(/\s+/g, ' ').trim() : null;
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
      const noAnswerExpected = kind.expected.includes('none');
      if (o.status === null && !noAnswerExpected) networkErrors++;
      const ok = o.status === null ? noAnswerExpected : kind.expected.includes(String(o.status));
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
// The run: options, temp dir, models and clips, talk2me's configurations

interface Options {
  pairs: number;
  throughputRequests: number;
  throughputRounds: number;
  clients: number;
  threads: number;
  /** Length of part 1's clip. */
  seconds: number;
  rssRequests: number;
  rssBatch: number;
  rssWarmup: number;
  soakRequests: number;
  soakWarmup: number;
  /** The synthetic models' decoders, each a load every part runs on. */
  loads: SyntheticDecoder[];
  part: 'all' | '1' | '2';
  seed: number;
  keepTemp: boolean;
}

function parseLoads(text: string): SyntheticDecoder[] {
  const loads = [...new Set(text.split(','))];
  for (const load of loads) if (!SYNTHETIC_DECODERS.includes(load as SyntheticDecoder)) throw new Error(`--loads takes ${SYNTHETIC_DECODERS.join(', ')} (comma-separated), got ${text}`);
  return loads as SyntheticDecoder[];
}

function parsePart(text: string): Options['part'] {
  if (text === 'all' || text === '1' || text === '2') return text;
  throw new Error(`--part takes all, 1 or 2, got ${text}`);
}

function parseOptions(): Options {
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
      loads: { type: 'string', default: SYNTHETIC_DECODERS.join(',') },
      part: { type: 'string', default: 'all' },
      seed: { type: 'string', default: '20261128' },
      'keep-temp': { type: 'boolean', default: false },
    },
  });
  return {
    pairs: positiveInt('pairs', args.pairs),
    throughputRequests: positiveInt('throughput-requests', args['throughput-requests']),
    throughputRounds: positiveInt('throughput-rounds', args['throughput-rounds']),
    clients: positiveInt('clients', args.clients),
    threads: positiveInt('threads', args.threads),
    seconds: positiveInt('seconds', args.seconds),
    rssRequests: positiveInt('rss-requests', args['rss-requests']),
    rssBatch: positiveInt('rss-batch', args['rss-batch']),
    rssWarmup: positiveInt('rss-warmup', args['rss-warmup']),
    soakRequests: positiveInt('soak-requests', args['soak-requests']),
    soakWarmup: positiveInt('soak-warmup', args['soak-warmup']),
    loads: parseLoads(args.loads),
    part: parsePart(args.part),
    seed: positiveInt('seed', args.seed),
    keepTemp: Boolean(args['keep-temp']),
  };
}

/** The run's temp dir and the servers it started: neither may outlive it, Ctrl-C included. */
class BenchRun {
  readonly #running: RunningPeer[] = [];
  /** CPU used by other people's processes, not this one's nor our servers'. */
  readonly other = new OtherCpu(() => this.#running.map((s) => s.pid));

  private constructor(
    readonly options: Options,
    readonly dir: string,
    /** whisper-server's binary. */
    readonly whisperServer: string,
  ) {}

  static async open(options: Options, whisperServer: string): Promise<BenchRun> {
    const run = new BenchRun(options, await mkdtemp(join(tmpdir(), 'talk2me-bench-http-')), whisperServer);
    // Ctrl-C or a kill: stop the servers (they would outlive this process) and remove the temp dir.
    const onSignal = (signal: NodeJS.Signals): void => {
      progress(`${signal}: stopping the servers`);
      void run
        .stopAll()
        .then(() => (options.keepTemp ? undefined : rm(run.dir, { recursive: true, force: true })))
        .finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return run;
  }

  /** Remembers a started server, so that stopAll() stops it. */
  track<T extends RunningPeer>(peer: T): T {
    this.#running.push(peer);
    return peer;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.#running.splice(0).map((s) => s.stop()));
  }

  /** Stops what still runs and removes the temp dir, unless --keep-temp. */
  async close(): Promise<void> {
    await this.stopAll();
    if (this.options.keepTemp) log(`(kept ${this.dir})`);
    else await rm(this.dir, { recursive: true, force: true });
  }
}

interface ModelFile {
  path: string;
  bytes: number;
}

/** The models and the clips, written once for the whole run. */
interface Inputs {
  /** Part 1's model, tiny.en dimensions, per load. */
  tiny: Map<SyntheticDecoder, ModelFile>;
  /** Part 2's model, mini dimensions, per load. */
  mini: Map<SyntheticDecoder, ModelFile>;
  /** Part 1's clip, --seconds long. */
  clip: Buffer;
  /** Part 2's 1 s clip. */
  shortClip: Buffer;
  /** A clip over the soak server's upload limit. */
  oversized: Buffer;
  /** A long clip within it. */
  long: Buffer;
}

async function writeInputs(dir: string, seconds: number, loads: readonly SyntheticDecoder[]): Promise<Inputs> {
  const tiny = new Map<SyntheticDecoder, ModelFile>();
  const mini = new Map<SyntheticDecoder, ModelFile>();
  for (const decoder of loads) {
    for (const [dims, into] of [['tiny', tiny], ['mini', mini]] as const) {
      const path = join(dir, `${dims}-${decoder}.bin`);
      into.set(decoder, { path, bytes: (await writeSyntheticModel(path, { dims, decoder })).bytes });
    }
  }
  const clip = pcm16Wav(syllableTones(seconds));
  const shortClip = pcm16Wav(syllableTones(1));
  const oversized = pcm16Wav(syllableTones(40)); // 1.28 MB: over the soak server's MAX_UPLOAD_MB=1
  const long = pcm16Wav(syllableTones(30)); // 0.96 MB: within it
  await writeFile(join(dir, 'clip.wav'), clip);
  return { tiny, mini, clip, shortClip, oversized, long };
}

const describeLoad = (load: SyntheticDecoder): string =>
  load === 'speechlike' ? `speech-like decoder, ${SPEECHLIKE_TOKENS_PER_SECOND} text tokens per second of audio` : 'encoder-bound, about one text token per clip';

/** How a talk2me server shares the threads; threads null: MAX_CONCURRENCY states sharing the cores. */
interface Talk2meConfig {
  concurrency: number;
  threads: number | null;
}

interface Talk2meConfigs {
  /** MC=1 with all the threads, MC=2 with half each, the defaults. */
  all: Talk2meConfig[];
  defaults: Talk2meConfig;
}

/**
 * Two fixed splits of the threads, and the defaults: MAX_CONCURRENCY states sharing the cores
 * (threads: null), a lone request getting all of them.
 */
function talk2meConfigs(cores: number, threads: number): Talk2meConfigs {
  const defaults: Talk2meConfig = { concurrency: defaultConcurrency(cores), threads: null };
  return {
    all: [{ concurrency: 1, threads }, { concurrency: 2, threads: Math.max(1, Math.floor(threads / 2)) }, defaults],
    defaults,
  };
}

const talk2meLabel = (c: Talk2meConfig): string => (c.threads === null ? `talk2me MC=${c.concurrency} shared` : `talk2me MC=${c.concurrency} WT=${c.threads}`);

function talk2meSettings(dir: string, name: string, model: string, c: Talk2meConfig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WHISPER_MODEL: model,
    MAX_CONCURRENCY: String(c.concurrency),
    ...(c.threads !== null && { WHISPER_THREADS: String(c.threads) }),
    LOG_FILE: join(dir, `${name}.pino.log`),
    UPLOAD_DIR: join(dir, `uploads-${name}`),
    WEB_ROOT: join(dir, 'no-web-root'),
    ...extra,
  };
}

function printHeader(run: BenchRun, cores: number, defaults: Talk2meConfig, buildLines: readonly string[]): void {
  const { threads } = run.options;
  log('# bench:http — talk2me server vs whisper-server');
  log();
  log(`date:        ${new Date().toISOString()}`);
  log(`machine:     ${cpus()[0]?.model ?? '?'}, ${cores} cores, ${f0(totalmem() / 1024 ** 3)} GB; node ${process.version}`);
  for (const line of buildLines) log(`build:       ${line}`);
  log(`talk2me:     defaults on this machine: MAX_CONCURRENCY=${defaults.concurrency}, WHISPER_THREADS unset: ${threadBudget(cores)} threads shared (a lone request gets all, requests starting together split them)${threadBudget(cores) === threads ? '' : ` — NOT the ${threads} threads whisper-server gets`}; started as bench/http-talk2me.ts --no-fallback (startServer(readServerConfig(env)) in a child process)`);
  log(`decoding:    both: greedy, best_of 1, beam 1, temperature 0, no temperature fallback, segment timestamps on, no token timestamps, language en, flash attention on, no context between requests`);
  log(`             talk2me: POST /transcribe, fields ${TALK2ME_FIELDS.map(([k, v]) => `${k}=${v}`).join(' ')}; its model wrapped to pass temperatureIncrement 0 (the rest are WhisperModel's defaults)`);
  log(`             whisper-server: ${[run.whisperServer, '--host 127.0.0.1 --port N -m MODEL -t T', ...WHISPER_SERVER_DECODING_ARGS].join(' ')}; POST /inference, fields ${WHISPER_SERVER_FIELDS.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  log(`client:      this process (no model), one TCP connection per request, X-Session-Id per client`);
  log();
}

// ---------------------------------------------------------------------------------------------
// Part 1 as run and reported

interface Part1 {
  load: SyntheticDecoder;
  /** The servers, talk2me's configurations first, whisper-server last. */
  labels: string[];
  latency: LatencyResult;
  throughput: ThroughputRun[];
  /** talk2me's requests/s over whisper-server's, round by round, by talk2me configuration. */
  throughputRatios: Map<string, number[]>;
  /** The best throughput ratio the split configuration could reach; null without one. */
  ceiling: Ceiling | null;
}

/**
 * What parallel states can win at most: `states` one-state-per-share transcriptions side by side
 * on every core, each as fast as it is alone (no contention for memory bandwidth or caches, no
 * core ever idle), against whisper-server serving one request at a time at its single-request speed.
 */
interface Ceiling {
  label: string;
  states: number;
  ratio: number;
}

function ceilingOf(latency: LatencyResult, split: Talk2meConfig, threads: number, reference: string): Ceiling | null {
  if (split.threads === null || split.concurrency < 2) return null;
  const label = talk2meLabel(split);
  const states = Math.min(split.concurrency, Math.floor(threads / split.threads));
  return { label, states, ratio: (states * (latency.medians.get(reference) as number)) / (latency.medians.get(label) as number) };
}

async function runPart1(run: BenchRun, inputs: Inputs, configs: readonly Talk2meConfig[], load: SyntheticDecoder): Promise<Part1> {
  const model = inputs.tiny.get(load) as ModelFile;
  const { servers, reference } = await startPart1Servers(run, model, inputs.clip, configs, load);
  log(`## Part 1, ${load}: latency and throughput (synthetic tiny.en ${f1(model.bytes / 1e6)} MB, ${describeLoad(load)}; ${run.options.seconds} s clip, ${f0(inputs.clip.length / 1024)} KB WAV)`);
  log();
  const rssStart = await warmUpAndCompareTexts(servers, run.options.clients);
  const latency = await reportLatency(run, servers, reference);
  const { throughput, throughputRatios } = await reportThroughput(run, servers, reference);
  const split = configs.find((c) => c.threads !== null && c.concurrency >= 2);
  const ceiling = split ? ceilingOf(latency, split, run.options.threads, reference.label) : null;
  if (ceiling) {
    const reached = median(throughputRatios.get(ceiling.label) ?? []);
    log(`- ceiling with ${ceiling.states} states of ${split?.threads} thread(s) each: ${ceiling.states} × ${f1(latency.medians.get(reference.label) as number)} ms / ${f1(latency.medians.get(ceiling.label) as number)} ms = ${f3(ceiling.ratio)} × whisper-server's requests/s (${ceiling.label} reached ${f3(reached)}, ${f0((100 * reached) / ceiling.ratio)}% of it)`);
  }
  log(`- RSS after part 1: ${servers.map((s) => `${s.label} ${mb(rssStart.get(s.label) as number)} -> ${mb(rssBytes(s.pid))} MB`).join('; ')}`);
  log();
  await run.stopAll();
  return { load, labels: servers.map((s) => s.label), latency, throughput, throughputRatios, ceiling };
}

/** talk2me in each configuration, then whisper-server (the reference), on the tiny.en model. */
async function startPart1Servers(run: BenchRun, model: ModelFile, clip: Buffer, configs: readonly Talk2meConfig[], load: SyntheticDecoder): Promise<{ servers: Server[]; reference: Server }> {
  const { threads } = run.options;
  const request = {
    talk2me: multipartRequest('good', '/transcribe', TALK2ME_FIELDS, [{ name: 'audio', filename: 'clip.wav', contentType: 'audio/wav', data: clip }]),
    whisper: multipartRequest('good', '/inference', WHISPER_SERVER_FIELDS, [{ name: 'file', filename: 'clip.wav', contentType: 'audio/wav', data: clip }]),
  };
  progress(`starting the tiny.en servers (${load})`);
  const servers: Server[] = [];
  for (const c of configs) {
    const name = `tiny-${load}-mc${c.concurrency}-wt${c.threads ?? 'shared'}`;
    const peer = run.track(await startTalk2me({ label: talk2meLabel(c), settings: talk2meSettings(run.dir, name, model.path, c), noFallback: true, logFile: join(run.dir, `${name}.out`) }));
    servers.push({ ...peer, request: request.talk2me, kind: 'talk2me' });
  }
  const ws = run.track(
    await startWhisperServer({ label: `whisper-server -t ${threads}`, binary: run.whisperServer, model: model.path, threads, decodingArgs: WHISPER_SERVER_DECODING_ARGS, logFile: join(run.dir, `tiny-${load}-whisper-server.out`) }),
  );
  const reference: Server = { ...ws, request: request.whisper, kind: 'whisper-server' };
  servers.push(reference);
  return { servers, reference };
}

/** Warms each server up and prints the texts they answer; returns each one's RSS after its warm-up. */
async function warmUpAndCompareTexts(servers: readonly Server[], clients: number): Promise<Map<string, number>> {
  progress('warming up');
  const texts = new Map<string, Set<string>>();
  for (const server of servers) {
    const outcomes = await warmUp(server, clients, 1);
    texts.set(server.label, new Set(outcomes.map((o) => answerText(o) ?? '?')));
  }
  const rssStart = new Map(servers.map((s) => [s.label, rssBytes(s.pid)]));
  log(`warm-up: ${clients} concurrent + 1 single request per server; texts: ${[...texts].map(([l, t]) => `${l} ${JSON.stringify([...t])}`).join('; ')}`);
  const allTexts = new Set([...texts.values()].flatMap((t) => [...t]));
  log(`texts ${allTexts.size === 1 ? 'MATCH' : 'DIFFER'} across servers`);
  log();
  return rssStart;
}

async function reportLatency(run: BenchRun, servers: readonly Server[], reference: Server): Promise<LatencyResult> {
  const { pairs } = run.options;
  progress('single-request latency');
  log(`### Single-request latency: ${pairs} iterations, one request to each server per iteration, order rotated`);
  log();
  const latency = await measureLatency(servers, reference, pairs, run.other);
  log();
  for (const server of servers) log(`- ${server.label}: median ${f1(latency.medians.get(server.label) as number)} ms`);
  for (const [label, rs] of latency.ratios) log(`- ${label} / ${reference.label}: median of per-iteration ratios ${f3(median(rs))} (range ${range(rs)})`);
  if (latency.disturbed > 0) log(`WARNING: in ${latency.disturbed} of ${pairs} iterations other processes used more than ${OTHER_CPU_LIMIT_MS} ms of CPU: disturbed`);
  log();
  return latency;
}

/** requests/s of each round on one server. */
const requestsPerS = (runs: readonly ThroughputRun[], label: string): number[] => runs.filter((r) => r.label === label).map((r) => r.requestsPerS);

async function reportThroughput(run: BenchRun, servers: readonly Server[], reference: Server): Promise<Pick<Part1, 'throughput' | 'throughputRatios'>> {
  const { clients, throughputRequests, throughputRounds } = run.options;
  progress('throughput');
  log(`### Throughput: ${clients} concurrent clients, ${throughputRequests} requests per run, ${throughputRounds} round(s), server order rotated`);
  log();
  const throughput = await measureThroughput(servers, throughputRequests, clients, throughputRounds, run.other);
  log();
  const throughputRatios = new Map<string, number[]>();
  for (const server of servers.filter((s) => s !== reference)) {
    const mine = requestsPerS(throughput, server.label);
    const theirs = requestsPerS(throughput, reference.label);
    throughputRatios.set(server.label, mine.map((x, i) => x / (theirs[i] as number)));
  }
  for (const server of servers) log(`- ${server.label}: median ${f3(median(requestsPerS(throughput, server.label)))} requests/s`);
  for (const [label, rs] of throughputRatios) log(`- ${label} / ${reference.label}: requests/s ratio, median over rounds ${f3(median(rs))} (range ${range(rs)})`);
  return { throughput, throughputRatios };
}

// ---------------------------------------------------------------------------------------------
// Part 2 as run and reported

interface Part2Load {
  load: SyntheticDecoder;
  talk2me: RssGrowth;
  whisperServer: RssGrowth;
  soak: SoakResult;
}

interface Part2Servers {
  load: SyntheticDecoder;
  talk2me: Server;
  whisperServer: Server;
  uploadDir: string;
}

async function runPart2(run: BenchRun, inputs: Inputs, defaults: Talk2meConfig): Promise<Part2Load[]> {
  const perLoad: Part2Servers[] = [];
  for (const load of run.options.loads) perLoad.push(await startPart2Servers(run, inputs, defaults, load));
  const all = perLoad.flatMap((p) => [p.talk2me, p.whisperServer]);
  log(`## Part 2: RSS growth and soak (synthetic mini models, ${run.options.loads.map((l) => `${l} ${f1((inputs.mini.get(l) as ModelFile).bytes / 1e6)} MB`).join(', ')}; 1 s clip, ${f0(inputs.shortClip.length / 1024)} KB WAV; talk2me also MAX_UPLOAD_MB=1)`);
  log();
  await warmUpForRss(all, run.options);
  const growth = await reportRssGrowth(run, all);
  const results: Part2Load[] = [];
  for (const p of perLoad) {
    const soakResult = await reportSoak(run, p.talk2me, p.uploadDir, inputs);
    const of = (server: Server): RssGrowth => growth.find((g) => g.server === server) as RssGrowth;
    results.push({ load: p.load, talk2me: of(p.talk2me), whisperServer: of(p.whisperServer), soak: soakResult });
  }
  await run.stopAll();
  return results;
}

/** talk2me with its defaults (and MAX_UPLOAD_MB=1, for the soak), then whisper-server, on one load's mini model. */
async function startPart2Servers(run: BenchRun, inputs: Inputs, defaults: Talk2meConfig, load: SyntheticDecoder): Promise<Part2Servers> {
  const { threads } = run.options;
  const model = inputs.mini.get(load) as ModelFile;
  const uploadDir = join(run.dir, `uploads-mini-${load}`);
  progress(`starting the mini servers (${load})`);
  const talk2me = run.track(
    await startTalk2me({
      label: `${talk2meLabel(defaults)} (mini, ${load})`,
      settings: { ...talk2meSettings(run.dir, `mini-${load}`, model.path, defaults), UPLOAD_DIR: uploadDir, MAX_UPLOAD_MB: '1' },
      noFallback: true,
      logFile: join(run.dir, `mini-${load}-talk2me.out`),
    }),
  );
  const ws = run.track(
    await startWhisperServer({ label: `whisper-server -t ${threads} (mini, ${load})`, binary: run.whisperServer, model: model.path, threads, decodingArgs: WHISPER_SERVER_DECODING_ARGS, logFile: join(run.dir, `mini-${load}-whisper-server.out`) }),
  );
  return {
    load,
    uploadDir,
    talk2me: { ...talk2me, kind: 'talk2me', request: multipartRequest('good', '/transcribe', TALK2ME_FIELDS, [{ name: 'audio', filename: 'clip.wav', contentType: 'audio/wav', data: inputs.shortClip }]) },
    whisperServer: { ...ws, kind: 'whisper-server', request: multipartRequest('good', '/inference', WHISPER_SERVER_FIELDS, [{ name: 'file', filename: 'clip.wav', contentType: 'audio/wav', data: inputs.shortClip }]) },
  };
}

/**
 * Alternating batches like the measurement itself: a server left idle for the minute the other
 * one warms up hands memory back (V8 shrinks its heap when idle) and regrows it at once,
 * which would show up as a step at the start of the series.
 */
async function warmUpForRss(servers: readonly Server[], { rssWarmup, rssBatch, clients }: Options): Promise<void> {
  progress('RSS growth: warm-up');
  for (let done = 0; done < rssWarmup; done += rssBatch) {
    for (const server of servers) {
      const n = Math.min(rssBatch, rssWarmup - done);
      const run = await runClients(server.url, Array.from({ length: n }, () => server.request), clients, sessionOf('rss'));
      requireOk(`RSS warm-up of ${server.label}`, run.outcomes);
    }
  }
}

async function reportRssGrowth(run: BenchRun, servers: readonly Server[]): Promise<RssGrowth[]> {
  const { rssWarmup, rssRequests, rssBatch, clients } = run.options;
  progress('RSS growth');
  log(`### RSS growth: ${rssWarmup} warm-up requests, then ${rssRequests} per server, in batches of ${rssBatch} (${clients} clients), servers alternating batch by batch, VmRSS after each measured batch`);
  log();
  run.other.reset();
  const startedAt = performance.now();
  const growth = await measureRssGrowth(servers, rssRequests, rssBatch, clients);
  for (const g of growth) {
    log(`- ${describeRss(g.raw)}`);
    if (g.server.settle) log(`- ${describeRss(g.settled)}`);
    if (g.heap) log(`- ${g.heap}`);
    log(`- ${rssSamples(g.server.settle ? g.settled : g.raw)}`);
  }
  log(`- wall ${f1((performance.now() - startedAt) / 1000)} s, other CPU ${f0(run.other.read())} ms`);
  log();
  return growth;
}

async function reportSoak(run: BenchRun, server: Server, uploadDir: string, inputs: Inputs): Promise<SoakResult> {
  const { soakRequests, soakWarmup, clients, seed } = run.options;
  progress('soak');
  log(`### Soak: ${soakRequests} mixed requests against ${server.label}, ${clients} clients`);
  log();
  await mkdir(uploadDir, { recursive: true });
  // The long clip takes the mini model a few hundred ms: a client that gives up after 100 ms hangs
  // up while whisper works on it, or while it waits for a slot.
  const kinds = soakKinds({ clip: inputs.shortClip, oversized: inputs.oversized, long: inputs.long, hangUpAfterMs: 100 }, seed);
  const result = await soak(server, uploadDir, soakRequests, soakWarmup, clients, seed, kinds, run.other);
  log();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Summary

function printPart1Summary({ threads, clients }: Options, configs: Talk2meConfigs, part1: Part1): void {
  const { latency, throughputRatios, load } = part1;
  const rpsOf = (label: string): number[] => requestsPerS(part1.throughput, label);
  const talk2meLabels = configs.all.map(talk2meLabel);
  const [mc1, mc2] = talk2meLabels as [string, string];
  const defaultLabel = talk2meLabel(configs.defaults);
  const latencyRatio = median(latency.ratios.get(mc1) ?? []);
  const defaultLatencyRatio = median(latency.ratios.get(defaultLabel) ?? []);
  const throughputRatio = median(throughputRatios.get(defaultLabel) ?? []);
  log(`${load}:`);
  log(`1. single-request latency, ${mc1} / whisper-server -t ${threads} (same threads): ${f3(latencyRatio)}, goal <= ${GOALS.latency}: ${verdict(latencyRatio <= GOALS.latency)}`);
  log(`   ${defaultLabel} (talk2me's defaults here) / whisper-server: ${f3(defaultLatencyRatio)}, goal <= ${GOALS.latency}: ${verdict(defaultLatencyRatio <= GOALS.latency)}`);
  log(`   ${mc2} / whisper-server: ${f3(median(latency.ratios.get(mc2) ?? []))}; medians ${part1.labels.map((label) => `${label} ${f0(latency.medians.get(label) as number)} ms`).join(', ')}`);
  log(`2. throughput, ${clients} clients, ${defaultLabel} (talk2me's defaults here) / whisper-server -t ${threads}: ${f3(throughputRatio)}, goal >= ${GOALS.throughput}: ${verdict(throughputRatio >= GOALS.throughput)}`);
  for (const [label, rs] of throughputRatios) if (label !== defaultLabel) log(`   ${label} / whisper-server: ${f3(median(rs))}`);
  log(`   requests/s: ${part1.labels.map((label) => `${label} ${f3(median(rpsOf(label)))}`).join(', ')}`);
  if (part1.ceiling) log(`   ceiling with ${part1.ceiling.states} states side by side (${part1.ceiling.label} alone, every core busy, no contention): ${f3(part1.ceiling.ratio)}${part1.ceiling.ratio < GOALS.throughput ? ` — below the goal of ${GOALS.throughput}: out of reach with these cores` : ''}`);
  const best = (score: (label: string) => number): string => talk2meLabels.reduce((a, b) => (score(b) > score(a) ? b : a));
  log(`   talk2me settings: single request fastest with ${best((l) => -(latency.medians.get(l) as number))}; ${clients}-client throughput highest with ${best((l) => median(rpsOf(l)))}`);
}

function printPart2Summary({ rssRequests }: Options, part2: Part2Load): void {
  const perThousand = (s: RssSeries): number => mbPer1000(s.bytesPerRequest);
  const { soak: soakResult, load } = part2;
  const fdGrowth = soakResult.fdsAfter - soakResult.fdsBefore;
  log(`${load}:`);
  log(`3. RSS growth per 1000 good requests after warm-up (mini model, 1 s clip, ${rssRequests} requests, slope ± 2 standard errors): talk2me after a full GC ${rssVerdict(part2.talk2me.settled)}, as read ${rssVerdict(part2.talk2me.raw)}; whisper-server ${f3(perThousand(part2.whisperServer.raw))} MB`);
  log(`4. soak of ${soakResult.requests} mixed requests: answers other than expected ${soakResult.unexpected}; 5xx ${soakResult.fiveXx} (goal 0: ${verdict(soakResult.fiveXx === 0)}); temp files left ${soakResult.tempFilesLeft} (goal 0: ${verdict(soakResult.tempFilesLeft === 0)}); fds ${soakResult.fdsBefore} -> ${soakResult.fdsAfter} (${fdGrowth >= 0 ? '+' : ''}${fdGrowth}: ${verdict(fdGrowth <= 0)})`);
  log(`   RSS per 1000 mixed requests: after a full GC ${rssVerdict(soakResult.rssSettled)}, as read ${rssVerdict(soakResult.rss)}`);
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const options = parseOptions();
  const started = performance.now();
  const peers = await buildPeers({ log: progress });
  if (!peers.server) throw new Error('whisper-server was not built');
  const buildLines = describeComparison(comparePeerBuild());
  const run = await BenchRun.open(options, peers.server);
  try {
    const inputs = await writeInputs(run.dir, options.seconds, options.loads);
    const cores = availableParallelism();
    const talk2me = talk2meConfigs(cores, options.threads);
    printHeader(run, cores, talk2me.defaults, buildLines);
    const part1: Part1[] = [];
    if (options.part !== '2') for (const load of options.loads) part1.push(await runPart1(run, inputs, talk2me.all, load));
    const part2 = options.part === '1' ? [] : await runPart2(run, inputs, talk2me.defaults);
    log('## Summary');
    log();
    for (const p of part1) printPart1Summary(options, talk2me, p);
    for (const p of part2) printPart2Summary(options, p);
    log(`(whole run ${f0((performance.now() - started) / 1000)} s)`);
  } finally {
    await run.close();
  }
}

await main();
