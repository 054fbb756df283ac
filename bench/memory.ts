/**
 * The temporary-file registry's sweep, which a long-running server runs every 30 s.
 *
 *   npx tsx bench/memory.ts [--tracked 10000] [--checks 20000] [--due 1000] [--rounds 9] [--file-kib 64] [--concurrency 1,8,16]
 *
 * (a) A sweep check with `--tracked` files tracked (real, empty files on disk) and none due: the
 *     time of `await registry.sweep(maxAge)`, over `--checks` repetitions after a warm-up. Side by
 *     side, the approach it replaces: list the directory and lstat every file each cycle.
 *     Goal: median <= 1 ms.
 * (b) A sweep that removes `--due` due files of `--file-kib` KiB each, real files on disk:
 *     total time, `--rounds` rounds (files rewritten before each).
 * (c) The event-loop delay while (b) runs, from perf_hooks.monitorEventLoopDelay (1 ms resolution),
 *     p99 and max. Side by side on the same files: the same unlinks all at once (Promise.all) and
 *     one after the other with unlinkSync, the registry with other numbers of unlinks in flight
 *     (`--concurrency`), and the loop idle for as long as the sweep took (the machine's noise floor).
 *     Goal: p99 <= 5 ms.
 *
 * Exits 0 whether or not the goals are met; it prints which are.
 */
import { lstat, mkdir, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { DEFAULT_REMOVAL_CONCURRENCY, TempFileRegistry } from '../src/memory/temp-files/index.js';
import { quantile, upperMedian } from './stats.js';

const CHECK_GOAL_MS = 1;
const DELAY_GOAL_MS = 5;
const HOUR_MS = 3_600_000;

const { values } = parseArgs({
  options: {
    tracked: { type: 'string', default: '10000' },
    checks: { type: 'string', default: '20000' },
    due: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '9' },
    'file-kib': { type: 'string', default: '64' },
    concurrency: { type: 'string', default: '1,8,16' },
  },
});
const tracked = positiveInt(values.tracked, 'tracked');
const checks = positiveInt(values.checks, 'checks');
const dueCount = positiveInt(values.due, 'due');
const rounds = positiveInt(values.rounds, 'rounds');
const fileBytes = positiveInt(values['file-kib'], 'file-kib') * 1024;
const concurrencies = (values.concurrency ?? '').split(',').map((c) => positiveInt(c, 'concurrency'));

function positiveInt(raw: string | undefined, name: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`Expected a positive integer for --${name} but received "${raw}"`);
  return n;
}

const ms = (x: number, digits = 3): string => x.toFixed(digits);
const verdict = (met: boolean): string => (met ? 'MET' : 'MISSED');

/** Writes files in bounded batches so setting up does not exhaust file descriptors. */
async function writeAll(paths: string[], content: Buffer): Promise<void> {
  for (let i = 0; i < paths.length; i += 64) {
    await Promise.all(paths.slice(i, i + 64).map((p) => writeFile(p, content, { flag: 'wx' })));
  }
}

interface DelayFigures {
  totalMs: number;
  /** Time the event loop spent outside its idle wait (running callbacks, or waiting for a CPU to run them). */
  busyMs: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

/**
 * Runs `work` under monitorEventLoopDelay. Each sample is the interval between two ticks of its
 * 1 ms timer, so an idle loop reads about 1.1 ms, and a stretch that blocks for 20 ms reads about
 * 20 ms; a stretch is only seen once a tick happened before it, hence the ticks before `work`.
 */
async function withDelayMonitor(work: () => Promise<unknown> | unknown): Promise<DelayFigures> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await sleep(10); // let the loop settle after setting up
  histogram.reset();
  await sleep(2); // a tick after the reset, so that work starting now is measured from it
  const started = performance.now();
  const utilisation = performance.eventLoopUtilization();
  await work();
  const totalMs = performance.now() - started;
  const busyMs = performance.eventLoopUtilization(utilisation).active;
  await sleep(2); // the tick that ends a blocking stretch
  histogram.disable();
  return { totalMs, busyMs, p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, samples: histogram.count };
}

const root = await mkdtemp(join(tmpdir(), 'talk2me-bench-memory-'));
const started = performance.now();
try {
  console.log('# bench:memory: the temporary-file registry');
  console.log();
  console.log(`date:     ${new Date().toISOString()}`);
  console.log(`machine:  ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`temp dir: ${root}`);
  console.log();

  // ---------------------------------------------------------------------------------------------
  // (a) a check with nothing due
  const dirA = join(root, 'a');
  const registryA = await TempFileRegistry.open({ dir: dirA });
  const pathsA = Array.from({ length: tracked }, () => registryA.createPath({ ext: 'wav' }));
  await writeAll(pathsA, Buffer.alloc(0));
  const warmUp = Math.min(1000, checks);
  for (let i = 0; i < warmUp; i++) await registryA.sweep(HOUR_MS);
  const times: number[] = [];
  for (let i = 0; i < checks; i++) {
    const t0 = performance.now();
    const result = await registryA.sweep(HOUR_MS);
    times.push(performance.now() - t0);
    if (result.removed !== 0) throw new Error('a file was due in (a)');
  }
  times.sort((x, y) => x - y);
  const oursMedian = quantile(times, 0.5);
  const oursP99 = quantile(times, 0.99);

  // The replaced approach: every cycle lists the directory and lstat's every file for its age.
  const naiveTimes: number[] = [];
  const naiveCycles = 15;
  for (let i = 0; i < naiveCycles + 1; i++) {
    const t0 = performance.now();
    const cutoff = Date.now() - HOUR_MS;
    const names = await readdir(dirA);
    const infos = await Promise.all(names.map((name) => lstat(join(dirA, name))));
    if (infos.some((info) => info.mtimeMs < cutoff)) throw new Error('a file was due in the reference');
    if (i > 0) naiveTimes.push(performance.now() - t0); // the first one warms the dentry cache
  }
  naiveTimes.sort((x, y) => x - y);
  const naiveMedian = quantile(naiveTimes, 0.5);

  console.log(`## (a) sweep check, ${tracked} files tracked, none due`);
  console.log();
  console.log(`registry.sweep(1 h), ${checks} checks after ${warmUp} warm-up: median ${ms(oursMedian, 4)} ms, p99 ${ms(oursP99, 4)} ms, max ${ms(times.at(-1) ?? NaN)} ms`);
  console.log(`reference (readdir + lstat of every file), ${naiveCycles} cycles: median ${ms(naiveMedian, 1)} ms, min ${ms(naiveTimes[0] ?? NaN, 1)} ms, max ${ms(naiveTimes.at(-1) ?? NaN, 1)} ms`);
  console.log(`ratio reference / registry (medians): ${(naiveMedian / oursMedian).toFixed(0)}x`);
  console.log(`goal median <= ${CHECK_GOAL_MS} ms: ${verdict(oursMedian <= CHECK_GOAL_MS)} (p99 <= ${CHECK_GOAL_MS} ms: ${verdict(oursP99 <= CHECK_GOAL_MS)})`);
  console.log();
  const closedA = await registryA.close();
  if (closedA.removed !== tracked) throw new Error(`close removed ${closedA.removed} of ${tracked} files in (a)`);

  // ---------------------------------------------------------------------------------------------
  // (b) + (c) a sweep with due files, and the event loop meanwhile; side by side the same unlinks
  // all at once and synchronously, and an idle loop for the noise floor.
  // The registry at its default number of unlinks in flight and at others, each on its own directory.
  const variants = [...new Set([DEFAULT_REMOVAL_CONCURRENCY, ...concurrencies])];
  let clock = 0;
  const registries = await Promise.all(
    variants.map((concurrency) => TempFileRegistry.open({ dir: join(root, `b${concurrency}`), now: () => clock, removalConcurrency: concurrency })),
  );
  const dirPlain = join(root, 'plain');
  await mkdir(dirPlain);
  const content = Buffer.alloc(fileBytes, 7);
  const sweeps: DelayFigures[][] = variants.map(() => []);
  const allAtOnce: DelayFigures[] = [];
  const oneByOne: DelayFigures[] = [];
  const idle: DelayFigures[] = [];
  let bytesPerSweep = 0;
  for (let round = 0; round < rounds; round++) {
    // Rotated each round, so that a neighbour's burst of work does not always hit the same variant.
    for (let k = 0; k < registries.length; k++) {
      const v = (k + round) % registries.length;
      const registry = registries[v] as TempFileRegistry;
      const due = Array.from({ length: dueCount }, () => registry.createPath({ ext: 'webm' }));
      await writeAll(due, content);
      for (const path of due) registry.setSize(path, fileBytes); // as an upload handler reports it: unlink only, like the references
      clock += 10 * 60_000;
      let removed = 0;
      sweeps[v]?.push(
        await withDelayMonitor(async () => {
          const result = await registry.sweep(5 * 60_000);
          removed = result.removed;
          bytesPerSweep = result.bytes;
        }),
      );
      if (removed !== dueCount || (await readdir(registry.dir)).length !== 0) throw new Error(`the sweep removed ${removed} of ${dueCount} files`);
    }

    const plain = Array.from({ length: dueCount }, (_, i) => join(dirPlain, `plain-${round}-${i}.webm`));
    await writeAll(plain, content);
    allAtOnce.push(await withDelayMonitor(() => Promise.all(plain.map((p) => unlink(p)))));
    await writeAll(plain, content);
    oneByOne.push(await withDelayMonitor(() => plain.forEach((p) => unlinkSync(p))));
    const idleFor = sweeps[0]?.at(-1)?.totalMs ?? 50;
    idle.push(await withDelayMonitor(() => sleep(idleFor)));
  }
  for (const registry of registries) await registry.close();

  const row = (name: string, runs: DelayFigures[]): string =>
    `| ${name} | ${ms(upperMedian(runs.map((r) => r.totalMs)), 1)} | ${ms(upperMedian(runs.map((r) => r.busyMs)), 1)} | ${ms(upperMedian(runs.map((r) => r.p99Ms)), 2)} | ${ms(Math.max(...runs.map((r) => r.p99Ms)), 2)} | ${ms(Math.max(...runs.map((r) => r.maxMs)), 2)} | ${upperMedian(runs.map((r) => r.samples))} |`;
  console.log(`## (b) sweep of ${dueCount} due files of ${fileBytes / 1024} KiB (real files), (c) event-loop delay meanwhile; ${rounds} rounds`);
  console.log();
  console.log('| what | time, median (ms) | loop busy, median (ms) | delay p99, median of rounds (ms) | delay p99, worst round (ms) | delay max, worst round (ms) | samples |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  variants.forEach((concurrency, v) =>
    console.log(row(`registry.sweep, ${concurrency} unlink${concurrency === 1 ? '' : 's'} in flight${v === 0 ? ' (default)' : ''}`, sweeps[v] ?? [])),
  );
  console.log(row('reference: Promise.all(unlink) of all at once', allAtOnce));
  console.log(row('reference: unlinkSync one after the other', oneByOne));
  console.log(row('idle loop, as long as the default sweep', idle));
  console.log();
  const defaults = sweeps[0] ?? [];
  const sweepMs = upperMedian(defaults.map((r) => r.totalMs));
  const sweepP99 = upperMedian(defaults.map((r) => r.p99Ms));
  const worstP99 = Math.max(...defaults.map((r) => r.p99Ms));
  console.log(`(b) sweep of ${dueCount} files (${(bytesPerSweep / 1024 / 1024).toFixed(1)} MiB): median ${ms(sweepMs, 1)} ms (${ms((sweepMs * 1000) / dueCount, 1)} us a file)`);
  console.log(`(c) event-loop delay p99 during the sweep: median of rounds ${ms(sweepP99, 2)} ms, worst round ${ms(worstP99, 2)} ms; goal p99 <= ${DELAY_GOAL_MS} ms: ${verdict(sweepP99 <= DELAY_GOAL_MS)} (worst round: ${verdict(worstP99 <= DELAY_GOAL_MS)})`);
  console.log(`    ratios of p99 to the default sweep's: unlinkSync loop ${(upperMedian(oneByOne.map((r) => r.p99Ms)) / sweepP99).toFixed(1)}x, all at once ${(upperMedian(allAtOnce.map((r) => r.p99Ms)) / sweepP99).toFixed(1)}x, idle ${(upperMedian(idle.map((r) => r.p99Ms)) / sweepP99).toFixed(2)}x`);
  console.log();
  console.log('## Summary');
  console.log();
  console.log(`(a) check with ${tracked} tracked, none due: median ${ms(oursMedian, 4)} ms, p99 ${ms(oursP99, 4)} ms, goal <= ${CHECK_GOAL_MS} ms: ${verdict(oursMedian <= CHECK_GOAL_MS)}; reference readdir+lstat ${ms(naiveMedian, 1)} ms (${(naiveMedian / oursMedian).toFixed(0)}x)`);
  console.log(`(b) sweep of ${dueCount} due files: median ${ms(sweepMs, 1)} ms`);
  console.log(`(c) event-loop delay p99 during (b): ${ms(sweepP99, 2)} ms (worst round ${ms(worstP99, 2)} ms), goal <= ${DELAY_GOAL_MS} ms: ${verdict(sweepP99 <= DELAY_GOAL_MS)}`);
  console.log(`(whole run ${((performance.now() - started) / 1000).toFixed(1)} s; load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
} finally {
  await rm(root, { recursive: true, force: true });
}
