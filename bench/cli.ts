/**
 * The talk2me command line end to end (process start, model load, one clip, exit) against
 * whisper.cpp's own whisper-cli, built from the same vendored source (bench/peers.ts).
 *
 *   npm run build && npm run bench:cli -- [--iterations 10] [--threads 2] [--seconds 10] [--splits 5]
 *                                         [--before DIR] [--no-npx-checkout]
 *
 * Same synthetic tiny.en model, same 10 s WAV, same threads, same decoding. Every iteration runs
 * each command once as its own process, in an order rotated by one each iteration, so no side
 * always runs first or after the same neighbour:
 *
 *   whisper-cli        build-peers/bin/whisper-cli -m M -f CLIP -t T -l en -bs 1 -bo 1 -tp 0.2 -fa
 *   node dist/cli.js   node dist/cli.js transcribe CLIP --model M -t T -l en
 *   npx (installed)    npx talk2me transcribe ...  in a scratch project whose node_modules holds
 *                      talk2me (a link to this checkout): what a user who ran `npm install talk2me` gets
 *   npx (checkout)     npx talk2me transcribe ...  in this checkout's root, where npm runs the
 *                      project's own bin (it loads the whole node_modules tree first)
 *   before             node DIR/dist/cli.js transcribe ...  with --before DIR: another build of
 *                      talk2me (e.g. a copy of dist/ from before a change, with package.json and
 *                      a build/ link beside it), measured in the same rotation
 *   node -e 0, node dist/cli.js --version, npx talk2me --version (installed): what starting Node,
 *                      loading the dispatcher and going through npx cost
 *
 * Decoding, the same on both sides: the talk2me CLI's defaults (greedy, best_of 1, temperature 0
 * with whisper's fallback in steps of 0.2, flash attention on, timestamps on) with the threads and
 * language given explicitly; whisper-cli gets the flags that select exactly that (its own defaults
 * are beam search with 5 beams, best of 5). Both start a fresh whisper state in a fresh process, so
 * the fallback's sampling is seeded alike and both print the same text, which is checked.
 *
 * Then --splits runs of `node dist/cli.js` and `npx (installed)` (and `before`) with
 * bench/cli-marks.mjs preloaded (NODE_OPTIONS=--import) split talk2me's time by the CLI's
 * `talk2me:` performance marks; whisper-cli's split comes from the timers it prints.
 *
 * Wall times are the parent's, from spawn to the child's exit; every command runs under GNU time
 * for its CPU time and peak RSS, so "other CPU" (what the rest of the machine used meanwhile) can
 * be told apart. Exits 0 whether or not the goal (talk2me <= 1.15x whisper-cli) is met.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { writeSyntheticModel } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';
import { pcm16Wav } from './http-audio.js';
import { machineBusyMs } from './http-procfs.js';
import { buildPeers, repoRoot } from './peers.js';
import { loadAverages, log, positiveInt, runToEnd, type Finished } from './report.js';
import { f0, f2, f3, median, range } from './stats.js';

const GOAL = 1.15;
const TIME_BIN = '/usr/bin/time';
const MARKS_PROBE = join(repoRoot, 'bench', 'cli-marks.mjs');

interface Side {
  key: string;
  label: string;
  file: string;
  args: string[];
  cwd: string;
  /** Compared with whisper-cli (a transcription); baselines are not. */
  transcribes: boolean;
}

interface TimedRun extends Finished {
  /** user + system CPU of the command and what it waited for (GNU time). */
  cpuMs: number;
  maxRssMb: number;
  /** CPU the rest of the machine used while it ran. */
  otherCpuMs: number;
}

async function runTimed(side: Side, rusageFile: string, env: NodeJS.ProcessEnv = process.env): Promise<TimedRun> {
  const busy0 = machineBusyMs();
  const own0 = process.cpuUsage();
  const run = await runToEnd(TIME_BIN, ['-o', rusageFile, '-f', '%e %U %S %M', side.file, ...side.args], { cwd: side.cwd, env });
  if (run.code !== 0) throw new Error(`${side.label} exited with ${run.signal ?? String(run.code)}:\n${run.stderr.slice(-2000)}`);
  const [, user = 0, sys = 0, rssKb = 0] = ((await readFile(rusageFile, 'utf8')).trim().split('\n').pop() ?? '').split(' ').map(Number);
  const cpuMs = (user + sys) * 1000;
  const own = process.cpuUsage(own0);
  const otherCpuMs = Math.max(0, machineBusyMs() - busy0 - cpuMs - (own.user + own.system) / 1000);
  return { ...run, cpuMs, maxRssMb: rssKb / 1024, otherCpuMs };
}

// ---------------------------------------------------------------------------------------------
// What each side printed

/** The text whisper-cli printed: its segments' text after the "[from --> to]" marks, joined. */
function cliText(stdout: string): string {
  return stdout
    .split('\n')
    .map((line) => /^\[[\d:.]+ --> [\d:.]+\]\s*(.*)$/.exec(line)?.[1] ?? '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const talk2meText = (stdout: string): string => stdout.replace(/\s+/g, ' ').trim();

interface CliTimers {
  loadMs: number;
  totalMs: number;
  encodeMs: number;
  decodeMs: number;
  fallbacks: string;
}

function cliTimers(stderr: string): CliTimers {
  const ms = (name: string): number => {
    const m = new RegExp(`whisper_print_timings:\\s+${name} time =\\s+([\\d.]+) ms`).exec(stderr);
    if (!m) throw new Error(`whisper-cli printed no "${name} time" (stderr tail:\n${stderr.slice(-1500)})`);
    return Number(m[1]);
  };
  const fb = /fallbacks =\s+(\d+) p \/\s+(\d+) h/.exec(stderr);
  return { loadMs: ms('load'), totalMs: ms('total'), encodeMs: ms('encode'), decodeMs: ms('decode'), fallbacks: fb ? `${fb[1]} p / ${fb[2]} h` : '?' };
}

// ---------------------------------------------------------------------------------------------
// The split of talk2me's time, from bench/cli-marks.mjs

interface MarksLine {
  timeOrigin: number;
  bootstrapCompleteMs: number;
  marks: Record<string, number>;
  exitMs: number;
  cjsModules: number;
  cjsPackages: string[];
}

/** The CLI's marks in order (src/cli.ts, src/cli/commands/transcribe.ts); the phase ends at its mark. */
const PHASES: ReadonlyArray<[phase: string, endMark: string]> = [
  ['dispatcher modules (cli.ts and its static imports)', 'main'],
  ['command modules (lazy import)', 'command-loaded'],
  ['audio: read + WAV decode', 'audio-decoded'],
  ['model: file check + load (WhisperModel.load)', 'model-loaded'],
  ['transcription (state + whisper_full)', 'transcribed'],
  ['output written', 'written'],
  ['model disposed', 'done'],
];

interface Split {
  /** phase -> ms */
  phases: Map<string, number>;
  cjsModules: number;
  cjsPackages: string[];
}

function splitOf(run: TimedRun, line: MarksLine): Split {
  const phases = new Map<string, number>();
  phases.set('spawn to Node start (npx/npm, sh, exec)', line.timeOrigin - run.startEpoch);
  phases.set('Node bootstrap', line.bootstrapCompleteMs);
  let at = line.bootstrapCompleteMs;
  for (const [phase, mark] of PHASES) {
    const t = line.marks[mark];
    if (t === undefined) continue;
    phases.set(phase, t - at);
    at = t;
  }
  phases.set(Object.keys(line.marks).length === 0 ? 'everything after bootstrap (no marks in this build)' : 'to the exit event', line.exitMs - at);
  phases.set('after the exit event until the parent saw the exit', run.endEpoch - (line.timeOrigin + line.exitMs));
  return { phases, cjsModules: line.cjsModules, cjsPackages: line.cjsPackages };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '10' },
      threads: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '10' },
      splits: { type: 'string', default: '5' },
      before: { type: 'string' },
      'no-npx-checkout': { type: 'boolean', default: false },
    },
  });
  const iterations = positiveInt('iterations', values.iterations);
  const threads = positiveInt('threads', values.threads);
  const seconds = positiveInt('seconds', values.seconds);
  const splits = Number(values.splits);
  const cliJs = join(repoRoot, 'dist', 'cli.js');
  if (!existsSync(cliJs)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const beforeCli = values.before === undefined ? undefined : join(values.before, 'dist', 'cli.js');
  if (beforeCli !== undefined && !existsSync(beforeCli)) throw new Error(`--before: ${beforeCli} is missing`);

  const { cli: whisperCli } = await buildPeers({ targets: ['whisper-cli'], log: (line) => process.stderr.write(`${line}\n`) });

  const dir = await mkdtemp(join(tmpdir(), 'talk2me-bench-cli-'));
  try {
    const modelPath = join(dir, 'tiny-synthetic.bin');
    const clipPath = join(dir, 'clip.wav');
    await writeSyntheticModel(modelPath, { dims: 'tiny' });
    await writeFile(clipPath, pcm16Wav(syllableTones(seconds)));

    // A project that installed talk2me: node_modules/talk2me links to this checkout and npm's bin
    // link points at its dist/cli.js, as `npm install` lays them out.
    const consumer = join(dir, 'consumer');
    await mkdir(join(consumer, 'node_modules', '.bin'), { recursive: true });
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'talk2me-bench-consumer', private: true, dependencies: { talk2me: `file:${repoRoot}` } }));
    await symlink(repoRoot, join(consumer, 'node_modules', 'talk2me'));
    await symlink(join('..', 'talk2me', 'dist', 'cli.js'), join(consumer, 'node_modules', '.bin', 'talk2me'));

    const t = String(threads);
    const talk2meArgs = ['transcribe', clipPath, '--model', modelPath, '-t', t, '-l', 'en'];
    const cliArgs = ['-m', modelPath, '-f', clipPath, '-t', t, '-l', 'en', '-bs', '1', '-bo', '1', '-tp', '0.2', '-fa'];
    const sides: Side[] = [
      { key: 'whisper-cli', label: 'whisper-cli', file: whisperCli, args: cliArgs, cwd: dir, transcribes: true },
      { key: 'node', label: 'node dist/cli.js', file: process.execPath, args: [cliJs, ...talk2meArgs], cwd: consumer, transcribes: true },
      { key: 'npx', label: 'npx talk2me (installed)', file: 'npx', args: ['talk2me', ...talk2meArgs], cwd: consumer, transcribes: true },
    ];
    if (!values['no-npx-checkout']) sides.push({ key: 'npx-checkout', label: 'npx talk2me (checkout)', file: 'npx', args: ['talk2me', ...talk2meArgs], cwd: repoRoot, transcribes: true });
    if (beforeCli) sides.push({ key: 'before', label: 'before: node DIR/dist/cli.js', file: process.execPath, args: [beforeCli, ...talk2meArgs], cwd: consumer, transcribes: true });
    sides.push({ key: 'node-e0', label: 'node -e 0', file: process.execPath, args: ['-e', '0'], cwd: consumer, transcribes: false });
    sides.push({ key: 'version', label: 'node dist/cli.js --version', file: process.execPath, args: [cliJs, '--version'], cwd: consumer, transcribes: false });
    sides.push({ key: 'npx-version', label: 'npx talk2me --version', file: 'npx', args: ['talk2me', '--version'], cwd: consumer, transcribes: false });
    if (beforeCli) sides.push({ key: 'before-version', label: 'before: --version', file: process.execPath, args: [beforeCli, '--version'], cwd: consumer, transcribes: false });

    log('# bench:cli — the talk2me CLI end to end vs whisper-cli');
    log();
    log(`date:      ${new Date().toISOString()}`);
    log(`machine:   ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}; load average at start ${loadAverages()}`);
    log(`model:     synthetic tiny.en (random weights, real dimensions); clip: ${seconds} s of syllable tones, 16 kHz mono 16-bit WAV`);
    log(`decoding:  greedy, best_of 1, temperature 0 with fallback +0.2, flash attention on, timestamps on, language en, ${threads} threads`);
    for (const s of sides) log(`${s.label.padEnd(28)} ${[s.file === process.execPath ? 'node' : s.file.replace(`${repoRoot}/`, ''), ...s.args].join(' ').replaceAll(dir, '$TMP').replaceAll(repoRoot, '.')}   (cwd ${s.cwd.replace(dir, '$TMP').replace(repoRoot, '.')})`);
    log(`runs:      1 warm-up + ${iterations} iterations, each side once per iteration, order rotated by one each iteration`);
    log();

    const runs = new Map<string, TimedRun[]>(sides.map((s) => [s.key, []]));
    const rusage = join(dir, 'rusage.txt');
    log(`| iter | ${sides.map((s) => s.label).join(' | ')} | other CPU | load avg |`);
    log(`|---:|${sides.map(() => '---:').join('|')}|---:|---|`);
    for (let i = 0; i <= iterations; i++) {
      const order = sides.map((_, k) => sides[(k + i) % sides.length] as Side);
      const row = new Map<string, TimedRun>();
      for (const side of order) row.set(side.key, await runTimed(side, rusage));
      const other = [...row.values()].reduce((sum, r) => sum + r.otherCpuMs, 0);
      log(`| ${i === 0 ? 'warm-up' : String(i)} | ${sides.map((s) => f0((row.get(s.key) as TimedRun).wallMs)).join(' | ')} | ${f0(other)} | ${loadAverages()} |`);
      if (i > 0) for (const [key, run] of row) runs.get(key)?.push(run);
    }

    // The same text from every transcription on both sides.
    const reference = cliText((runs.get('whisper-cli') as TimedRun[])[0]?.stdout ?? '');
    const mismatches = new Set<string>();
    for (const side of sides.filter((s) => s.transcribes)) {
      for (const run of runs.get(side.key) ?? []) {
        const text = side.key === 'whisper-cli' ? cliText(run.stdout) : talk2meText(run.stdout);
        if (text !== reference) mismatches.add(`${side.label}: ${JSON.stringify(text.slice(0, 80))} vs whisper-cli ${JSON.stringify(reference.slice(0, 80))}`);
      }
    }

    const wall = (key: string): number[] => (runs.get(key) ?? []).map((r) => r.wallMs);
    const cliWall = wall('whisper-cli');
    log();
    log(`Medians over ${iterations} iterations (ms; CPU = user + system; RSS = peak):`);
    for (const s of sides) {
      const rs = runs.get(s.key) ?? [];
      log(`- ${s.label.padEnd(28)} wall ${f0(median(rs.map((r) => r.wallMs))).padStart(5)}  CPU ${f0(median(rs.map((r) => r.cpuMs))).padStart(5)}  RSS ${f0(median(rs.map((r) => r.maxRssMb)))} MB`);
    }
    const timers = (runs.get('whisper-cli') ?? []).map((r) => cliTimers(r.stderr));
    log(`- whisper-cli's own timers: load ${f0(median(timers.map((x) => x.loadMs)))}, total ${f0(median(timers.map((x) => x.totalMs)))} (encode ${f0(median(timers.map((x) => x.encodeMs)))}, decode ${f0(median(timers.map((x) => x.decodeMs)))}), fallbacks ${[...new Set(timers.map((x) => x.fallbacks))].join(', ')}; wall - total ${f0(median((runs.get('whisper-cli') ?? []).map((r, k) => r.wallMs - (timers[k] as CliTimers).totalMs)))}`);
    log();
    log(`Ratios over whisper-cli (median of per-iteration ratios, range), goal <= ${GOAL}:`);
    for (const s of sides.filter((x) => x.transcribes && x.key !== 'whisper-cli')) {
      const ratios = wall(s.key).map((w, k) => w / (cliWall[k] as number));
      const r = median(ratios);
      log(`- ${s.label.padEnd(28)} ${f3(r)} (${range(ratios)})${r <= GOAL ? ' MET' : ' MISSED'}`);
    }
    // CPU time is what the work costs whatever the neighbours do; with more than one thread it also
    // counts ggml's threads spinning at their barriers while a sibling waits for a core.
    const cliCpu = (runs.get('whisper-cli') ?? []).map((r) => r.cpuMs);
    log('CPU time (user + system) over whisper-cli\'s, median of per-iteration ratios (range):');
    for (const s of sides.filter((x) => x.transcribes && x.key !== 'whisper-cli')) {
      const ratios = (runs.get(s.key) ?? []).map((r, k) => r.cpuMs / (cliCpu[k] as number));
      const extra = (runs.get(s.key) ?? []).map((r, k) => r.cpuMs - (cliCpu[k] as number));
      log(`- ${s.label.padEnd(28)} ${f3(median(ratios))} (${range(ratios)}); ${median(extra) >= 0 ? '+' : ''}${f0(median(extra))} ms of CPU against whisper-cli's (median of per-iteration differences)`);
    }
    log(`- texts: ${mismatches.size === 0 ? `MATCHED: every run on every side printed ${JSON.stringify(reference)}` : `DIFFER:\n  ${[...mismatches].join('\n  ')}`}`);

    if (splits > 0) {
      log();
      log(`## Where talk2me's time goes: ${splits} runs per side with bench/cli-marks.mjs preloaded, alternating with whisper-cli`);
      log();
      const marksFile = join(dir, 'marks.jsonl');
      const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(MARKS_PROBE).href}`.trim(), TALK2ME_CLI_MARKS: marksFile };
      const splitSides = sides.filter((s) => s.key === 'node' || s.key === 'npx' || s.key === 'before');
      const splitRuns = new Map<string, Split[]>(splitSides.map((s) => [s.key, []]));
      const cliSplitRuns: TimedRun[] = [];
      for (let i = 0; i < splits; i++) {
        for (const side of splitSides) {
          await rm(marksFile, { force: true });
          const run = await runTimed(side, rusage, env);
          const lines = (await readFile(marksFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as MarksLine);
          const line = lines[0];
          if (lines.length !== 1 || !line) throw new Error(`${side.label}: expected one line of marks, got ${lines.length}`);
          splitRuns.get(side.key)?.push(splitOf(run, line));
        }
        cliSplitRuns.push(await runTimed(sides[0] as Side, rusage));
      }
      for (const side of splitSides) {
        const list = splitRuns.get(side.key) ?? [];
        const phaseNames = [...new Set(list.flatMap((s) => [...s.phases.keys()]))];
        log(`${side.label} (medians, ms):`);
        for (const phase of phaseNames) log(`  ${phase.padEnd(58)} ${f0(median(list.map((s) => s.phases.get(phase) ?? 0))).padStart(6)}`);
        const first = list[0];
        log(`  CommonJS modules loaded: ${first?.cjsModules ?? '?'}${first && first.cjsPackages.length > 0 ? ` (packages: ${first.cjsPackages.join(', ')})` : ''}`);
        log();
      }
      const t2 = cliSplitRuns.map((r) => cliTimers(r.stderr));
      log('whisper-cli (medians, ms, from its own timers and the wall time):');
      log(`  ${'model load (its "load time")'.padEnd(58)} ${f0(median(t2.map((x) => x.loadMs))).padStart(6)}`);
      log(`  ${'state, WAV read, transcription, printing (total - load)'.padEnd(58)} ${f0(median(t2.map((x) => x.totalMs - x.loadMs))).padStart(6)}`);
      log(`  ${'process start, argument parsing, exit (wall - total)'.padEnd(58)} ${f0(median(cliSplitRuns.map((r, k) => r.wallMs - (t2[k] as CliTimers).totalMs))).padStart(6)}`);
      log(`  ${'wall'.padEnd(58)} ${f0(median(cliSplitRuns.map((r) => r.wallMs))).padStart(6)}`);
    }
    log();
    log(`load average at end ${loadAverages()}; ratios measured side by side in one run (${f2(median(cliWall) / 1000)} s per whisper-cli run)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
