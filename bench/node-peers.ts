/**
 * talk2me against the whisper.cpp bindings a Node user would otherwise pick, each in its own process.
 *
 *   npm run build && npm run bench:node-peers -- [--rounds 2] [--warm 2] [--threads 2] [--seconds 10]
 *                                                [--dims tiny|mini] [--decoder encoder-bound|speechlike]
 *                                                [--reinstall]
 *
 * The peers are installed with npm into a scratch folder outside the project,
 * os.tmpdir()/talk2me-node-peers/<peer>/ (one folder per peer, so one that fails to install does not
 * take the others down; never the project's own dependencies). Versions are pinned below.
 *
 * Every worker (bench/node-peers-worker.mjs, plain Node, one library per process) loads the same
 * synthetic model, transcribes the same clip once and then `warm` more times on the loaded model,
 * and frees the model. Rounds run every worker once, in an order rotated each round. Measured:
 * load and time per clip (first, warm); how much the JavaScript thread itself ran during a load and
 * during a transcription (its CPU time from /proc/self/task/PID/schedstat: work inside the call that
 * keeps the event loop from running, whatever the machine's load), with the longest gap between
 * ticks of a 5 ms interval timer beside it (which a busy machine also stretches); and RSS at the
 * start, after the import, after the load, after the work and after the free (each after full GCs).
 *
 * Decoding is made the same wherever a library lets it be: greedy at temperature 0, language en,
 * the same threads, flash attention off (smart-whisper's bundled whisper.cpp cannot turn it on).
 * Two settings, because @napi-rs/whisper cannot turn whisper.cpp's temperature fallback off:
 *   - no fallback (best_of 1): talk2me, @fugood/whisper.node, smart-whisper;
 *   - fallback in steps of 0.2 with best_of 5 (whisper.cpp's greedy defaults): talk2me and
 *     @napi-rs/whisper. On the synthetic model the fallback always triggers (its random text fails
 *     whisper's log-probability threshold), so this setting makes the decoder work too.
 * The texts are printed: the same text means the same work. With `--decoder speechlike` (the
 * speech-like synthetic model, src/model/speechlike.ts) the fallback never triggers: both settings
 * then decode the same tokens, and @napi-rs/whisper is compared like for like.
 *
 * Exits 0 whatever the figures; a peer that cannot be installed or run is reported with its error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { MODEL_DIMS, type ModelDimsName } from '../src/model/dims.js';
import { SYNTHETIC_DECODERS, writeSyntheticModel, type SyntheticDecoder } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';
import { pcm16Wav } from './http-audio.js';
import { repoRoot } from './peers.js';
import { loadAverages, log, positiveInt, runToEnd } from './report.js';
import { f0, f1, median } from './stats.js';

interface Peer {
  /** The package a user installs. */
  name: string;
  version: string;
  /** Its folder under the scratch directory. */
  dir: string;
}

// The latest versions on the registry when this was written (npm view NAME version engines).
const PEERS: Peer[] = [
  { name: '@napi-rs/whisper', version: '0.0.4', dir: 'napi-rs' },
  { name: '@fugood/whisper.node', version: '1.1.3', dir: 'fugood' },
  { name: 'smart-whisper', version: '0.8.1', dir: 'smart-whisper' },
];

const SCRATCH = join(tmpdir(), 'talk2me-node-peers');
const WORKER = join(repoRoot, 'bench', 'node-peers-worker.mjs');

/** The last lines of a failure, without npm's "A complete log" noise. */
function tail(text: string, lines = 12): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => !/complete log of this run/.test(l))
    .slice(-lines)
    .join('\n');
}

/**
 * npm install of one peer into its own scratch folder. npm 11 runs a dependency's install scripts
 * only when package.json's allowScripts names it: smart-whisper compiles its addon in one (node-gyp),
 * @fugood/whisper.node checks its prebuilt binary in one.
 */
async function install(peer: Peer, force: boolean): Promise<{ ok: true; note: string } | { ok: false; error: string }> {
  const dir = join(SCRATCH, peer.dir);
  const installed = join(dir, 'node_modules', ...peer.name.split('/'), 'package.json');
  if (!force && existsSync(installed) && (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version === peer.version) {
    return { ok: true, note: 'already installed' };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const manifest = { name: `talk2me-node-peer-${peer.dir}`, private: true, dependencies: { [peer.name]: peer.version }, allowScripts: { [`${peer.name}@${peer.version}`]: true } };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const started = performance.now();
  const r = await runToEnd('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: dir });
  await writeFile(join(dir, 'install.log'), `${r.stdout}\n${r.stderr}`);
  if (r.code !== 0) return { ok: false, error: `npm install exited ${String(r.code)}:\n${tail(r.stderr || r.stdout)}` };
  return { ok: true, note: `installed in ${f0((performance.now() - started) / 1000)} s` };
}

interface WorkerResult {
  library: string;
  freeHow: string;
  loadMs: number;
  loadMaxGapMs: number;
  loadMainThreadCpuMs: number;
  runs: Array<{ ms: number; maxGapMs: number; mainThreadCpuMs: number; text: string }>;
  rss: { start: number; imported: number; loaded: number; afterWork: number; afterFree: number };
}

interface Entry {
  label: string;
  library: string;
  fallback: boolean;
  results: WorkerResult[];
  error?: string;
}

async function runWorker(entry: Entry, setup: { modelPath: string; wavPath: string; threads: number; warm: number }): Promise<WorkerResult> {
  const config = { library: entry.library, scratch: SCRATCH, repoRoot, ...setup, fallback: entry.fallback };
  const r = await runToEnd(process.execPath, ['--expose-gc', WORKER, JSON.stringify(config)], { cwd: repoRoot });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.code !== 0 || !line) throw new Error(`exit ${String(r.code)}: ${tail(r.stderr || r.stdout, 8)}`);
  return JSON.parse(line.slice('RESULT '.length)) as WorkerResult;
}

const mb = (bytes: number): string => f1(bytes / 1024 / 1024);
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      warm: { type: 'string', default: '2' },
      threads: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '10' },
      dims: { type: 'string', default: 'tiny' },
      decoder: { type: 'string', default: 'encoder-bound' },
      reinstall: { type: 'boolean', default: false },
    },
  });
  const rounds = positiveInt('rounds', values.rounds);
  const warm = positiveInt('warm', values.warm);
  const threads = positiveInt('threads', values.threads);
  const seconds = positiveInt('seconds', values.seconds);
  const dims = values.dims as ModelDimsName;
  if (!(dims in MODEL_DIMS)) throw new Error(`--dims must be one of ${Object.keys(MODEL_DIMS).join(', ')}`);
  const decoder = values.decoder as SyntheticDecoder;
  if (!SYNTHETIC_DECODERS.includes(decoder)) throw new Error(`--decoder must be one of ${SYNTHETIC_DECODERS.join(', ')}`);
  if (!existsSync(join(repoRoot, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: run `npm run build` first');

  log('# bench:node-peers — talk2me and the Node bindings of whisper.cpp, one process each');
  log();
  log(`date:     ${new Date().toISOString()}`);
  log(`machine:  ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}; npm ${(await runToEnd('npm', ['--version'])).stdout.trim()}; load average at start ${loadAverages()}`);
  log(`scratch:  ${SCRATCH} (one npm project per peer)`);
  log();
  const entries: Entry[] = [
    { label: 'talk2me', library: 'talk2me', fallback: false, results: [] },
    { label: 'talk2me, fallback', library: 'talk2me', fallback: true, results: [] },
  ];
  for (const peer of PEERS) {
    const outcome = await install(peer, values.reinstall === true);
    log(`install:  ${peer.name}@${peer.version}: ${outcome.ok ? outcome.note : `FAILED\n${outcome.error}`}`);
    const fallback = peer.name === '@napi-rs/whisper';
    entries.push({ label: fallback ? `${peer.name}, fallback` : peer.name, library: peer.name, fallback, results: [], ...(!outcome.ok && { error: `install failed: ${outcome.error}` }) });
  }

  const dir = await mkdtemp(join(tmpdir(), 'talk2me-bench-node-peers-'));
  try {
    const modelPath = join(dir, `${dims}-${decoder}-synthetic.bin`);
    const wavPath = join(dir, 'clip.wav');
    await writeSyntheticModel(modelPath, { dims, decoder });
    await writeFile(wavPath, pcm16Wav(syllableTones(seconds)));
    log(`model:    synthetic ${dims}, ${decoder} decoder (random weights, real dimensions); clip: ${seconds} s of syllable tones, 16 kHz mono 16-bit WAV (the same float samples for all; @fugood/whisper.node takes the 16-bit samples)`);
    log(`decoding: greedy, temperature 0, language en, ${threads} threads, flash attention off; "fallback": temperature fallback +0.2 with best_of 5, else none and best_of 1`);
    log(`runs:     ${rounds} round(s); each worker: load, 1 first + ${warm} warm transcriptions, free; workers rotated each round`);
    log();

    const setup = { modelPath, wavPath, threads, warm };
    for (let round = 0; round < rounds; round++) {
      const live = entries.filter((e) => e.error === undefined);
      const order = live.map((_, k) => live[(k + round) % live.length] as Entry);
      for (const entry of order) {
        const t0 = performance.now();
        try {
          const result = await runWorker(entry, setup);
          entry.results.push(result);
          const r = result.runs;
          log(`round ${round + 1}: ${entry.label.padEnd(30)} load ${f0(result.loadMs)} ms, first ${f0(r[0]?.ms ?? NaN)} ms, warm ${r.slice(1).map((x) => f0(x.ms)).join('/')} ms, max loop gap ${f0(Math.max(...r.map((x) => x.maxGapMs)))} ms, JS thread CPU per clip ${r.map((x) => f0(x.mainThreadCpuMs)).join('/')} ms (${f0((performance.now() - t0) / 1000)} s; load avg ${loadAverages()})`);
        } catch (err) {
          entry.error = `run failed: ${(err as Error).message}`;
          log(`round ${round + 1}: ${entry.label}: ${entry.error}`);
        }
      }
    }

    log();
    log(`Medians over the rounds (ms; MB of RSS relative to the worker's start, ${rounds} round(s)):`);
    log();
    log('| library | decoding | load | JS thread CPU during load | longest loop gap in the load | first clip | warm clip | JS thread CPU per clip | longest loop gap in a clip | RSS at start | after import | after load | after work | after free | free | text |');
    log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
    for (const e of entries) {
      if (e.results.length === 0) {
        log(`| ${e.library} | ${e.fallback ? 'fallback, best_of 5' : 'no fallback'} | — | — | — | — | — | — | — | — | — | — | — | — | — | ${e.error ?? 'no result'} |`);
        continue;
      }
      const m = (f: (r: WorkerResult) => number): number => median(e.results.map(f));
      const rel = (f: (r: WorkerResult) => number): string => `${m((r) => f(r) - r.rss.start) >= 0 ? '+' : ''}${mb(m((r) => f(r) - r.rss.start))}`;
      const texts = [...new Set(e.results.flatMap((r) => r.runs.map((x) => x.text)))];
      log(
        `| ${e.library} | ${e.fallback ? 'fallback, best_of 5' : 'no fallback'} | ${f0(m((r) => r.loadMs))} | ${f0(m((r) => r.loadMainThreadCpuMs))} | ${f0(m((r) => r.loadMaxGapMs))} | ${f0(m((r) => r.runs[0]?.ms ?? NaN))} | ${f0(median(e.results.flatMap((r) => r.runs.slice(1).map((x) => x.ms))))} | ${f0(median(e.results.flatMap((r) => r.runs.map((x) => x.mainThreadCpuMs))))} | ${f0(Math.max(...e.results.flatMap((r) => r.runs.map((x) => x.maxGapMs))))} | ${mb(m((r) => r.rss.start))} | ${rel((r) => r.rss.imported)} | ${rel((r) => r.rss.loaded)} | ${rel((r) => r.rss.afterWork)} | ${rel((r) => r.rss.afterFree)} | ${e.results[0]?.freeHow ?? ''} | ${texts.map((t) => JSON.stringify(t)).join(', ')}${e.error ? `; later: ${e.error}` : ''} |`,
      );
    }
    log();
    log(`load average at end ${loadAverages()}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
