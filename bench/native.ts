/**
 * The addon against whisper.cpp's own whisper-cli, built from the same vendored source.
 *
 *   npx -y tsx bench/native.ts [--pairs 15] [--threads 2] [--seconds 10] [--flash-attn off|on|both]
 *
 * Same synthetic tiny.en model (random weights at real dimensions), same WAV, same threads, same
 * decoding parameters; addon and whisper-cli runs alternate, one warm-up iteration first (not
 * counted). The addon runs in a child Node process that never spawns anything while it measures,
 * and this process (which holds no model) spawns whisper-cli: Node spawns with fork(), and a fork
 * marks every writable page of the forking process copy-on-write, so the first transcription after
 * a spawn in the model's process pays one page fault per page of its whisper state (see the fork
 * probe at the end, and bench/RESULTS.md).
 *
 * Each iteration:
 *   1. addon, fresh model:  WhisperModel.load() (timed), then its first transcribe(pcm), which
 *      creates the whisper state and runs on freshly allocated buffers, then dispose();
 *   2. addon, kept model:   transcribe(pcm) on a model loaded once, whose state is reused (the
 *      service's steady state);
 *   3. whisper-cli:         one process; its own whisper_print_timings figures are parsed.
 *
 * What is compared (all medians of per-iteration ratios, addon / whisper-cli):
 *   - fresh state, whisper_full: the addon's native totalMs of the first transcription vs
 *     whisper-cli's compute timers (mel + sample + encode + decode + batchd + prompt). Both run
 *     whisper_full once on a state created just before; the addon's figure also counts whisper_full's
 *     untimed bookkeeping and reading out the segments, so if anything it is unfair to the addon.
 *   - fresh state, end to end: the addon's first transcribe() as JavaScript sees it (state creation,
 *     N-API, thread hand-off included) vs whisper-cli's `total - load` (state creation, reading the
 *     WAV, whisper_full, printing).
 *   - steady state: transcribe() on the kept model vs whisper-cli's compute timers. whisper-cli
 *     cannot reuse a state, so it always pays first-touch page faults on its buffers; this ratio is
 *     what a service gains, not a like-for-like check.
 *   - load: WhisperModel.load() (file check, backend set-up, N-API included) vs whisper-cli's
 *     printed `load time` (whisper_model_load only: reading the file into the weights).
 * The transcription goal (<= 1.02) is checked on the like-for-like ratio (fresh state, whisper_full);
 * the same bound is applied to load.
 *
 * Exits 0 whether or not the goals are met; it prints which are.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { runToEnd } from './report.js';
import { decodeWav } from '../src/audio/index.js';
import { writeSyntheticModel } from '../src/model/synthetic.js';
import { systemInfo, WhisperModel, type TranscribeOptions, type Transcription } from '../src/native/index.js';
import { syllableTones } from '../test/helpers/signals.js';
import { buildPeers, comparePeerBuild, describeComparison } from './peers.js';
import { f0, f1, f3, median, range } from './stats.js';

const GOAL = 1.02;
/** CPU time others may use during one iteration (about 3 s on 2 cores) before it counts as disturbed. */
const OTHER_CPU_LIMIT_MS = 150;
const WORKER_FLAG = '--addon-worker';

// ---------------------------------------------------------------------------------------------
// Decoding parameters, identical on both sides.
//
// whisper-cli's defaults differ from the addon's: best_of 5, beam_size 5 (beam search), flash
// attention on. Both get greedy decoding with one candidate, temperature 0, language en,
// timestamps on (whisper-cli's -nt is not only about printing: it sets no_timestamps, which changes
// decoding) and the same flash-attention setting.
// Temperature fallback is off on both (-nf / temperatureIncrement 0): the synthetic model's random
// text fails whisper's log-probability threshold, and the fallback then samples at t > 0 with
// decoder 0's random generator, which whisper.cpp seeds once per whisper_state. whisper-cli starts a
// fresh state every run while the addon reuses its state, so their sampled texts, and the work they
// cost, would differ from run to run. Greedy at t = 0 is deterministic: same text on both sides.
function addonOptions(threads: number): TranscribeOptions {
  return { language: 'en', timestamps: true, beamSize: 1, bestOf: 1, temperature: 0, temperatureIncrement: 0, threads };
}
function cliDecodingArgs(threads: number, flashAttention: boolean): string[] {
  return ['-t', String(threads), '-l', 'en', '-bs', '1', '-bo', '1', '-tp', '0', '-nf', flashAttention ? '-fa' : '-nfa'];
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

interface Seg {
  startMs: number;
  endMs: number;
  text: string;
}

interface AddonTranscribe {
  ms: number;
  native: Transcription['timings'];
  minorFaults: number;
  segments: Seg[];
}

interface AddonIteration {
  /** CPU time (user + system) the addon's process used during the iteration. */
  cpuMs: number;
  loadMs: number;
  nativeLoadMs: number;
  first: AddonTranscribe;
  warm: AddonTranscribe;
}

interface CliRun {
  wallMs: number;
  loadMs: number;
  totalMs: number;
  /** mel + sample + encode + decode + batchd + prompt */
  computeMs: number;
  phases: Record<string, { ms: number; runs: number }>;
  fallbacks: string;
  minorFaults: number | null;
  cpuMs: number | null;
  segments: Seg[];
}

type Request =
  | { type: 'init'; modelPath: string; wavPath: string; threads: number; flashAttention: boolean }
  | { type: 'iteration' }
  | { type: 'fork-probe' }
  | { type: 'exit' };

type Reply =
  | { type: 'ready' }
  | { type: 'iteration'; result: AddonIteration }
  | { type: 'fork-probe'; result: AddonTranscribe }
  | { type: 'error'; message: string };

function toSegments(t: Transcription): Seg[] {
  return t.segments.map((s) => ({ startMs: Math.round(s.start * 1000), endMs: Math.round(s.end * 1000), text: s.text }));
}

// ---------------------------------------------------------------------------------------------
// The addon side, in its own process.

async function workerMain(): Promise<void> {
  let kept: WhisperModel | undefined;
  let pcm: Float32Array = new Float32Array(0);
  let modelPath = '';
  let loadOptions: { threads: number; flashAttention: boolean } = { threads: 1, flashAttention: false };
  let options: TranscribeOptions = {};

  const send = (reply: Reply): void => {
    process.send?.(reply);
  };
  const timedTranscribe = async (model: WhisperModel): Promise<AddonTranscribe> => {
    const faults = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    const result = await model.transcribe(pcm, options);
    const ms = performance.now() - t0;
    return { ms, native: result.timings, minorFaults: process.resourceUsage().minorPageFault - faults, segments: toSegments(result) };
  };

  const handle = async (request: Request): Promise<void> => {
    switch (request.type) {
      case 'init': {
        pcm = decodeWav(new Uint8Array(await readFile(request.wavPath))).pcm;
        modelPath = request.modelPath;
        // Always explicit: the addon's default may change, the comparison must not.
        loadOptions = { threads: request.threads, flashAttention: request.flashAttention };
        options = addonOptions(request.threads);
        kept = await WhisperModel.load(modelPath, loadOptions);
        send({ type: 'ready' });
        return;
      }
      case 'iteration': {
        if (!kept) throw new Error('not initialised');
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        const fresh = await WhisperModel.load(modelPath, loadOptions);
        const loadMs = performance.now() - t0;
        const nativeLoadMs = fresh.info.loadMs;
        const first = await timedTranscribe(fresh);
        await fresh.dispose();
        const warm = await timedTranscribe(kept);
        const used = process.cpuUsage(cpu);
        send({ type: 'iteration', result: { cpuMs: (used.user + used.system) / 1000, loadMs, nativeLoadMs, first, warm } });
        return;
      }
      case 'fork-probe': {
        if (!kept) throw new Error('not initialised');
        // What a service pays when the model's process spawns a child (e.g. ffmpeg) between
        // requests: Node forks, the state's pages turn copy-on-write, the next run faults them back.
        spawnSync('/bin/true');
        send({ type: 'fork-probe', result: await timedTranscribe(kept) });
        return;
      }
      case 'exit': {
        await kept?.dispose();
        process.disconnect?.();
        return;
      }
    }
  };

  process.on('message', (request: Request) => {
    handle(request).catch((error: unknown) => {
      send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    });
  });
}

/** The parent's handle on an addon worker: one request at a time. */
class AddonWorker {
  readonly #child: ChildProcess;
  #pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;

  constructor() {
    this.#child = fork(fileURLToPath(import.meta.url), [WORKER_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (reply: Reply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (reply.type === 'error') pending?.reject(new Error(`addon worker: ${reply.message}`));
      else pending?.resolve(reply);
    });
    this.#child.on('exit', (code, signal) => {
      this.#pending?.reject(new Error(`addon worker exited (${signal ?? String(code)})`));
      this.#pending = undefined;
    });
  }

  request(request: Request): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#child.send(request);
    });
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ type: 'exit' } satisfies Request);
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// The whisper-cli side.

const TIME_BIN = '/usr/bin/time'; // GNU time, when present, reports the peer's page faults and CPU time

interface ProcessRun {
  stdout: string;
  stderr: string;
  wallMs: number;
  minorFaults: number | null;
  cpuMs: number | null;
}

async function runCli(file: string, argv: readonly string[], rusageFile: string): Promise<ProcessRun> {
  const useTime = existsSync(TIME_BIN);
  const command = useTime ? TIME_BIN : file;
  const args = useTime ? ['-o', rusageFile, '-f', '%R %U %S', file, ...argv] : [...argv];
  const { code, signal, stdout, stderr, wallMs } = await runToEnd(command, args);
  if (code !== 0) throw new Error(`${file} exited with ${signal ?? String(code)}:\n${stderr.slice(-2000)}`);
  if (!useTime) return { stdout, stderr, wallMs, minorFaults: null, cpuMs: null };
  const text = await readFile(rusageFile, 'utf8');
  const [faults, user, sys] = (text.trim().split('\n').pop() ?? '').split(' ').map(Number);
  const ok = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
  return { stdout, stderr, wallMs, minorFaults: ok(faults) ? faults : null, cpuMs: ok(user) && ok(sys) ? (user + sys) * 1000 : null };
}

/** CPU time all processes used so far (ms), from /proc/stat; null where there is no /proc. */
function systemBusyMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    // user nice system idle iowait irq softirq steal: everything but idle and iowait, in USER_HZ (100/s)
    const busy = [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (fields[i] ?? 0), 0);
    return busy * 10;
  } catch {
    return null;
  }
}

const TIMESTAMP = /\[(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\] {2}/g;

/** Segments as whisper-cli prints them on stdout: "[hh:mm:ss.mmm --> hh:mm:ss.mmm]  text\n". */
function parseCliSegments(stdout: string): Seg[] {
  const marks = [...stdout.matchAll(TIMESTAMP)];
  const ms = (m: RegExpMatchArray, i: number): number =>
    ((Number(m[i]) * 60 + Number(m[i + 1])) * 60 + Number(m[i + 2])) * 1000 + Number(m[i + 3]);
  return marks.map((m, k) => {
    const from = (m.index ?? 0) + m[0].length;
    const to = k + 1 < marks.length ? (marks[k + 1]?.index ?? stdout.length) : stdout.length;
    let text = stdout.slice(from, to);
    if (text.endsWith('\n')) text = text.slice(0, -1);
    return { startMs: ms(m, 1), endMs: ms(m, 5), text };
  });
}

const COMPUTE_PHASES = ['mel', 'sample', 'encode', 'decode', 'batchd', 'prompt'] as const;

function parseCliTimings(stderr: string): Pick<CliRun, 'loadMs' | 'totalMs' | 'computeMs' | 'phases' | 'fallbacks'> {
  const phases: Record<string, { ms: number; runs: number }> = {};
  for (const m of stderr.matchAll(/whisper_print_timings:\s+(\w+) time =\s+([\d.]+) ms(?: \/\s+(\d+) runs)?/g)) {
    phases[m[1] as string] = { ms: Number(m[2]), runs: Number(m[3] ?? 1) };
  }
  const get = (name: string): number => {
    const p = phases[name];
    if (!p) throw new Error(`whisper-cli printed no "${name} time" (stderr tail:\n${stderr.slice(-1500)})`);
    return p.ms;
  };
  const fallbacks = /fallbacks =\s+(\d+) p \/\s+(\d+) h/.exec(stderr);
  return {
    loadMs: get('load'),
    totalMs: get('total'),
    computeMs: COMPUTE_PHASES.reduce((sum, name) => sum + get(name), 0),
    phases,
    fallbacks: fallbacks ? `${fallbacks[1] ?? '?'} p / ${fallbacks[2] ?? '?'} h` : '?',
  };
}

/** The addon clamps timestamps to the clip; whisper-cli prints them as whisper.cpp gives them. */
function sameSegments(addon: readonly Seg[], cli: readonly Seg[], clipMs: number): string | null {
  if (addon.length !== cli.length) return `${addon.length} segments vs ${cli.length}`;
  for (let i = 0; i < addon.length; i++) {
    const a = addon[i] as Seg;
    const c = cli[i] as Seg;
    const c0 = Math.min(c.startMs, clipMs);
    const c1 = Math.max(c0, Math.min(c.endMs, clipMs));
    if (a.text !== c.text) return `segment ${i} text ${JSON.stringify(a.text.slice(0, 80))} vs ${JSON.stringify(c.text.slice(0, 80))}`;
    if (a.startMs !== c0 || a.endMs !== c1) return `segment ${i} times ${a.startMs}-${a.endMs} ms vs ${c.startMs}-${c.endMs} ms`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Audio

/** 16-bit PCM mono WAV at 16 kHz. */
function wavBytes(pcm: Float32Array): Buffer {
  const dataBytes = pcm.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16); // fmt chunk size
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(16000, 24);
  out.writeUInt32LE(16000 * 2, 28); // byte rate
  out.writeUInt16LE(2, 32); // block align
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.max(-1, Math.min(1, pcm[i] as number));
    out.writeInt16LE(Math.round(v * 32767), 44 + 2 * i);
  }
  return out;
}

/** What whisper-cli's reader (miniaudio, s16 -> f32) hands whisper.cpp: sample / 32768. */
function int16ToFloatLikeCli(wav: Buffer): Float32Array {
  const n = (wav.length - 44) / 2;
  const pcm = new Float32Array(n);
  for (let i = 0; i < n; i++) pcm[i] = wav.readInt16LE(44 + 2 * i) / 32768;
  return pcm;
}

// ---------------------------------------------------------------------------------------------
// Main

const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

function positiveInt(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(text)}`);
  return n;
}

interface ConfigResult {
  flashAttention: boolean;
  firstRatio: number;
  endToEndRatio: number;
  warmRatio: number;
  loadRatio: number;
  warmMs: number;
  cliComputeMs: number;
  textsMatched: boolean;
  disturbed: number;
}

async function runConfig(setup: {
  flashAttention: boolean;
  threads: number;
  pairs: number;
  cli: string;
  modelPath: string;
  wavPath: string;
  dir: string;
  clipMs: number;
}): Promise<ConfigResult> {
  const { flashAttention, threads, pairs, clipMs } = setup;
  const cliArgs = ['-m', setup.modelPath, '-f', setup.wavPath, ...cliDecodingArgs(threads, flashAttention)];
  log(`## Flash attention ${flashAttention ? 'on' : 'off'}`);
  log();
  log(`addon:       WhisperModel.load(model, ${JSON.stringify({ threads, flashAttention })}); transcribe(pcm, ${JSON.stringify(addonOptions(threads))})`);
  log(`whisper-cli: ${setup.cli.replace(process.cwd() + '/', '')} ${cliArgs.join(' ').replaceAll(setup.dir, '$TMP')}`);
  log();

  const worker = new AddonWorker();
  await worker.request({ type: 'init', modelPath: setup.modelPath, wavPath: setup.wavPath, threads, flashAttention });

  const addonRuns: AddonIteration[] = [];
  const cliRuns: CliRun[] = [];
  let disturbed = 0;
  const header = [
    'iter', 'addon load', 'cli load',
    'addon 1st (JS)', 'addon 1st (native)', 'cli compute', 'cli total-load',
    'addon warm (JS)', 'addon warm (native)',
    'faults addon 1st/warm', 'faults cli', 'other CPU',
  ];
  log(`| ${header.join(' | ')} |`);
  log(`|${header.map(() => '---:').join('|')}|`);
  for (let i = 0; i <= pairs; i++) {
    const busy0 = systemBusyMs();
    const own0 = process.cpuUsage();
    const reply = await worker.request({ type: 'iteration' });
    if (reply.type !== 'iteration') throw new Error(`unexpected reply ${reply.type}`);
    const a = reply.result;
    const proc = await runCli(setup.cli, cliArgs, join(setup.dir, 'cli-rusage.txt'));
    const c: CliRun = {
      ...parseCliTimings(proc.stderr),
      wallMs: proc.wallMs,
      minorFaults: proc.minorFaults,
      cpuMs: proc.cpuMs,
      segments: parseCliSegments(proc.stdout),
    };
    // CPU that neither side (nor this process) used while they ran: someone else on the machine.
    const busy1 = systemBusyMs();
    const own = process.cpuUsage(own0);
    const other = busy0 === null || busy1 === null || c.cpuMs === null ? null : Math.max(0, busy1 - busy0 - a.cpuMs - c.cpuMs - (own.user + own.system) / 1000);
    const row = [
      i === 0 ? 'warm-up' : String(i),
      f1(a.loadMs), f1(c.loadMs),
      f1(a.first.ms), f1(a.first.native.totalMs), f1(c.computeMs), f1(c.totalMs - c.loadMs),
      f1(a.warm.ms), f1(a.warm.native.totalMs),
      `${f0(a.first.minorFaults)} / ${f0(a.warm.minorFaults)}`, c.minorFaults === null ? '-' : f0(c.minorFaults),
      other === null ? '-' : f0(other),
    ];
    log(`| ${row.join(' | ')} |`);
    if (i > 0) {
      addonRuns.push(a);
      cliRuns.push(c);
      if (other !== null && other > OTHER_CPU_LIMIT_MS) disturbed++;
    }
  }

  const probes: AddonTranscribe[] = [];
  for (let i = 0; i < 3; i++) {
    const reply = await worker.request({ type: 'fork-probe' });
    if (reply.type === 'fork-probe') probes.push(reply.result);
  }
  await worker.close();

  // Texts: every addon transcription (fresh and warm) against every whisper-cli run.
  const reference = (cliRuns[0] as CliRun).segments;
  const mismatches = new Set<string>();
  for (const c of cliRuns) {
    const d = sameSegments(c.segments, reference, Number.POSITIVE_INFINITY);
    if (d) mismatches.add(`whisper-cli runs differ from each other: ${d}`);
  }
  for (const a of addonRuns) {
    for (const [kind, t] of [['fresh', a.first], ['warm', a.warm]] as const) {
      const d = sameSegments(t.segments, reference, clipMs);
      if (d) mismatches.add(`addon (${kind}) vs whisper-cli: ${d}`);
    }
  }

  const per = (f: (a: AddonIteration, c: CliRun) => number): number[] => addonRuns.map((a, k) => f(a, cliRuns[k] as CliRun));
  const firstRatios = per((a, c) => a.first.native.totalMs / c.computeMs);
  const endToEndRatios = per((a, c) => a.first.ms / (c.totalMs - c.loadMs));
  const warmRatios = per((a, c) => a.warm.ms / c.computeMs);
  const loadRatios = per((a, c) => a.loadMs / c.loadMs);
  const m = (f: (a: AddonIteration) => number): string => f1(median(addonRuns.map(f)));
  const mc = (f: (c: CliRun) => number): string => f1(median(cliRuns.map(f)));
  const c0 = cliRuns[0] as CliRun;
  const goal = (r: number): string => (r <= GOAL ? 'MET' : 'MISSED');

  log();
  if (disturbed > 0) {
    log(`WARNING: in ${disturbed} of ${pairs} iterations other processes used more than ${OTHER_CPU_LIMIT_MS} ms of CPU ("other CPU"): the figures are disturbed; rerun on a quiet machine.`);
  }
  log(`Medians over ${pairs} iterations (ms):`);
  log(`- addon load ${m((a) => a.loadMs)} (native info.loadMs ${m((a) => a.nativeLoadMs)}); whisper-cli load time ${mc((c) => c.loadMs)}`);
  log(`- addon 1st transcribe on a fresh model: JS ${m((a) => a.first.ms)}; native mel ${m((a) => a.first.native.melMs)}, encode ${m((a) => a.first.native.encodeMs)}, decode ${m((a) => a.first.native.decodeMs)}, total ${m((a) => a.first.native.totalMs)}`);
  log(`- addon transcribe on the kept model:   JS ${m((a) => a.warm.ms)}; native mel ${m((a) => a.warm.native.melMs)}, encode ${m((a) => a.warm.native.encodeMs)}, decode ${m((a) => a.warm.native.decodeMs)}, total ${m((a) => a.warm.native.totalMs)}`);
  log(`- whisper-cli compute ${mc((c) => c.computeMs)}: ${COMPUTE_PHASES.map((p) => `${p} ${mc((c) => c.phases[p]?.ms ?? 0)} (${c0.phases[p]?.runs ?? 0} runs)`).join(', ')}; fallbacks ${c0.fallbacks}`);
  log(`- whisper-cli total - load ${mc((c) => c.totalMs - c.loadMs)}; process wall time ${mc((c) => c.wallMs)}`);
  if (probes.length > 0) {
    log(`- fork probe (kept model, after the addon's process spawned /bin/true): JS ${f1(median(probes.map((p) => p.ms)))}, ${f0(median(probes.map((p) => p.minorFaults)))} minor page faults (vs ${m((a) => a.warm.minorFaults)} without the spawn)`);
  }
  log();
  const firstRatio = median(firstRatios);
  const endToEndRatio = median(endToEndRatios);
  const warmRatio = median(warmRatios);
  const loadRatio = median(loadRatios);
  log('Ratios addon / whisper-cli (median of per-iteration ratios):');
  log(`- transcription, fresh state, whisper_full (addon native total / cli compute): ${f3(firstRatio)} (range ${range(firstRatios)}), goal <= ${GOAL}: ${goal(firstRatio)}`);
  log(`- transcription, fresh state, end to end (addon JS / cli total - load):       ${f3(endToEndRatio)} (range ${range(endToEndRatios)})`);
  log(`- transcription, steady state (addon JS on the kept model / cli compute):     ${f3(warmRatio)} (range ${range(warmRatios)}; state reuse, not like for like)`);
  log(`- load (WhisperModel.load / cli load time):                                    ${f3(loadRatio)} (range ${range(loadRatios)}; native info.loadMs / cli load time ${f3(median(per((a, c) => a.nativeLoadMs / c.loadMs)))}), goal <= ${GOAL}: ${goal(loadRatio)}`);
  const first = c0.segments;
  if (mismatches.size === 0) {
    log(`- texts: MATCHED: all ${pairs} whisper-cli runs and ${2 * pairs} addon transcriptions gave the same ${first.length} segment(s) (${first.map((s) => JSON.stringify(s.text)).join(', ').slice(0, 120)}), same timestamps once the addon's clamp to the clip end is applied`);
  } else {
    log('- texts: DIFFER');
    for (const line of mismatches) log(`  - ${line}`);
  }
  log();
  return {
    flashAttention,
    firstRatio,
    endToEndRatio,
    warmRatio,
    loadRatio,
    warmMs: median(addonRuns.map((a) => a.warm.ms)),
    cliComputeMs: median(cliRuns.map((c) => c.computeMs)),
    textsMatched: mismatches.size === 0,
    disturbed,
  };
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      pairs: { type: 'string', default: '15' },
      threads: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '10' },
      'flash-attn': { type: 'string', default: 'both' },
      'keep-temp': { type: 'boolean', default: false },
    },
  });
  const pairs = positiveInt('pairs', args.pairs);
  const threads = positiveInt('threads', args.threads);
  const seconds = positiveInt('seconds', args.seconds);
  const fa = args['flash-attn'];
  if (fa !== 'off' && fa !== 'on' && fa !== 'both') throw new Error(`--flash-attn must be off, on or both, got ${String(fa)}`);
  const configs = fa === 'both' ? [false, true] : [fa === 'on'];

  const started = performance.now();
  const peers = await buildPeers({ targets: ['whisper-cli'], log: (line) => process.stderr.write(`${line}\n`) });
  const buildCheck = comparePeerBuild();

  const dir = await mkdtemp(join(tmpdir(), 'talk2me-bench-native-'));
  try {
    const modelPath = join(dir, 'tiny-synthetic.bin');
    const model = await writeSyntheticModel(modelPath, { dims: 'tiny' });
    const wavPath = join(dir, 'tones.wav');
    const wav = wavBytes(syllableTones(seconds));
    await writeFile(wavPath, wav);

    // The addon (worker) decodes the WAV with decodeWav; check it gives exactly the floats whisper-cli reads.
    const pcm = decodeWav(new Uint8Array(wav)).pcm;
    const reference = int16ToFloatLikeCli(wav);
    if (pcm.length !== reference.length || !pcm.every((v, i) => v === reference[i])) {
      throw new Error('decodeWav does not give the samples whisper-cli reads (int16 / 32768)');
    }
    const clipMs = Math.round((pcm.length / 16000) * 1000);
    const info = systemInfo();

    log('# talk2me addon vs whisper-cli');
    log();
    log(`date:        ${new Date().toISOString()}`);
    log(`machine:     ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores; node ${process.version}`);
    log(`whisper.cpp: ${info.whisperVersion}, backends ${info.backends.join(', ')}; ${info.features}`);
    for (const line of describeComparison(buildCheck)) log(`build:       ${line}`);
    log(`model:       synthetic tiny.en (random weights, real dimensions), ${(model.bytes / 1e6).toFixed(1)} MB`);
    log(`audio:       ${seconds} s of syllable tones, 16 kHz mono 16-bit WAV; the addon gets decodeWav's floats, identical to whisper-cli's (int16 / 32768)`);
    log(`decoding:    greedy, best_of 1, beam 1, temperature 0, no temperature fallback, timestamps on, language en, ${threads} threads`);
    log(`runs:        per configuration 1 warm-up + ${pairs} iterations of [addon: load + 1st transcribe + dispose, transcribe on the kept model] then [whisper-cli]`);
    log();

    const results: ConfigResult[] = [];
    for (const flashAttention of configs) {
      results.push(await runConfig({ flashAttention, threads, pairs, cli: peers.cli, modelPath, wavPath, dir, clipMs }));
    }

    log('## Summary');
    log();
    for (const r of results) {
      log(`flash attention ${r.flashAttention ? 'on ' : 'off'}: transcription ${f3(r.firstRatio)}, goal <= ${GOAL}: ${r.firstRatio <= GOAL ? 'MET' : 'MISSED'} (end to end ${f3(r.endToEndRatio)}); steady state ${f3(r.warmRatio)}; load ${f3(r.loadRatio)}, goal <= ${GOAL}: ${r.loadRatio <= GOAL ? 'MET' : 'MISSED'}; texts ${r.textsMatched ? 'matched' : 'DIFFER'}${r.disturbed > 0 ? `; ${r.disturbed} disturbed iteration(s)` : ''}`);
    }
    const off = results.find((r) => !r.flashAttention);
    const on = results.find((r) => r.flashAttention);
    if (off && on) {
      log(`addon with flash attention off vs whisper-cli with it on (its default), steady state: ${f1(off.warmMs)} / ${f1(on.cliComputeMs)} ms = ${f3(off.warmMs / on.cliComputeMs)}; the addon itself with flash attention on: ${f1(on.warmMs)} ms`);
    }
    log(`(whole run ${f0((performance.now() - started) / 1000)} s)`);
  } finally {
    if (args['keep-temp']) log(`(kept ${dir})`);
    else await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes(WORKER_FLAG)) await workerMain();
else await main();
