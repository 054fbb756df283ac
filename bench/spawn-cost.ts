/**
 * What starting a child process (ffmpeg, for every non-WAV upload) costs the next transcription in
 * the model's process. child_process forks, which marks the whole process copy-on-write; talk2me
 * starts ffmpeg with the addon's spawnPiped (src/native/child-process.ts: vfork + exec, earlier posix_spawn), which does not.
 * Synthetic tiny.en model, 5 s clip, one state kept; each round transcribes once after nothing,
 * once after a `true` started by spawnPiped, once after a forked `true`, in a rotating order.
 *
 *   npx tsx bench/spawn-cost.ts [--rounds 9] [--threads 2]
 *
 * Prints median latency and minor page faults of each transcription and the ratios to "nothing".
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { writeSyntheticModel } from '../src/model/synthetic.js';
import { spawnPiped } from '../src/native/child-process.js';
import { WhisperModel } from '../src/native/index.js';
import { syllableTones } from '../test/helpers/signals.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, threads: { type: 'string', default: '2' } } });
const rounds = Number(values.rounds);
const threads = Number(values.threads);

const spawnWithoutFork = (): Promise<void> =>
  new Promise((resolve) => {
    const child = spawnPiped('true', []);
    child.stdout.resume();
    child.stderr.resume();
    child.once('close', () => resolve());
  });

const before: Record<string, () => Promise<void>> = {
  nothing: async () => undefined,
  posix_spawn: spawnWithoutFork,
  fork: async () => void spawnSync('true'),
};

const dir = await mkdtemp(join(tmpdir(), 'talk2me-spawn-bench-'));
try {
  const { path } = await writeSyntheticModel(join(dir, 'tiny.bin'), { dims: 'tiny' });
  const clip = syllableTones(5);
  await using model = await WhisperModel.load(path, { threads, maxStates: 1 });
  const options = { temperatureIncrement: 0 };
  await model.transcribe(clip, options); // creates and touches the state, not counted
  await model.transcribe(clip, options);
  const ms: Record<string, number[]> = { nothing: [], posix_spawn: [], fork: [] };
  const faults: Record<string, number[]> = { nothing: [], posix_spawn: [], fork: [] };
  const names = Object.keys(before);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as string;
      await (before[name] as () => Promise<void>)();
      const f0 = process.resourceUsage().minorPageFault;
      const t0 = performance.now();
      await model.transcribe(clip, options);
      ms[name]!.push(performance.now() - t0);
      faults[name]!.push(process.resourceUsage().minorPageFault - f0);
    }
  }
  console.log(`rounds: ${rounds}, threads: ${threads}, clip: 5 s, model: synthetic tiny.en, node ${process.version}`);
  const base = median(ms.nothing!);
  for (const name of names) {
    console.log(
      `after ${name.padEnd(11)}: median ${median(ms[name]!).toFixed(1)} ms, ${median(faults[name]!).toFixed(0)} minor page faults; ratio to nothing ${(median(ms[name]!) / base).toFixed(3)}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
