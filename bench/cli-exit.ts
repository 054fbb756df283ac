/**
 * What ending the CLI costs once the transcript is out: dispose the model and let Node tear down
 * (what `talk2me transcribe` did), or exit at once and leave the memory to the system (what it does
 * now, src/cli.ts). Both modes run in fresh Node processes, alternating, the same work up to the
 * end: load the synthetic tiny.en model, transcribe 1 s, print a line. Measured from that line to
 * the process's exit as the parent sees it, and the child's whole CPU time (GNU time).
 *
 *   npx tsx bench/cli-exit.ts [--runs 15]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { writeSyntheticModel } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';
import { repoRoot } from './peers.js';
import { loadAverages, log, positiveInt } from './report.js';
import { f0, median } from './stats.js';

type Mode = 'dispose' | 'exit';

// The child: the transcribe command's work, then one of the two endings.
const CHILD = `
const { WhisperModel } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'index.js')).href)});
const [modelPath, pcmPath, mode] = process.argv.slice(1);
const { readFileSync } = await import('node:fs');
const pcm = new Float32Array(readFileSync(pcmPath).buffer.slice(0));
const model = await WhisperModel.load(modelPath, { threads: 1 });
await model.transcribe(pcm, { language: 'en', temperatureIncrement: 0 });
process.stdout.write('transcribed\\n');
if (mode === 'dispose') await model.dispose();
else process.exit(0);
`;

function runChild(mode: Mode, modelPath: string, pcmPath: string, rusage: string): Promise<{ endMs: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-o', rusage, '-f', '%U %S', process.execPath, '--input-type=module', '-e', CHILD, modelPath, pcmPath, mode], { stdio: ['ignore', 'pipe', 'ignore'] });
    let lineAt: number | undefined;
    child.stdout.on('data', () => (lineAt ??= performance.now()));
    child.on('error', reject);
    child.on('close', (code) => {
      const closedAt = performance.now();
      if (code !== 0 || lineAt === undefined) {
        reject(new Error(`child (${mode}) exited ${String(code)}`));
        return;
      }
      const endMs = closedAt - lineAt;
      readFile(rusage, 'utf8').then((text) => {
        const [user = 0, sys = 0] = (text.trim().split('\n').pop() ?? '').split(' ').map(Number);
        resolve({ endMs, cpuMs: (user + sys) * 1000 });
      }, reject);
    });
  });
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = positiveInt('runs', values.runs);
const dir = await mkdtemp(join(tmpdir(), 'talk2me-bench-cli-exit-'));
try {
  const modelPath = join(dir, 'tiny-synthetic.bin');
  const pcmPath = join(dir, 'clip.f32');
  await writeSyntheticModel(modelPath, { dims: 'tiny' });
  await writeFile(pcmPath, Buffer.from(syllableTones(1).buffer));
  log(`# bench:cli exit — dispose and tear down, or exit at once (${runs} runs each, alternating; load average ${loadAverages()})`);
  const results: Record<Mode, Array<{ endMs: number; cpuMs: number }>> = { dispose: [], exit: [] };
  for (let i = 0; i < runs; i++) {
    for (const mode of (i % 2 === 0 ? ['dispose', 'exit'] : ['exit', 'dispose']) as Mode[]) {
      results[mode].push(await runChild(mode, modelPath, pcmPath, join(dir, 'rusage.txt')));
    }
  }
  for (const mode of ['dispose', 'exit'] as Mode[]) {
    const r = results[mode];
    log(`- ${mode.padEnd(8)} from the transcript to the exit: median ${f0(median(r.map((x) => x.endMs)))} ms; whole process CPU median ${f0(median(r.map((x) => x.cpuMs)))} ms`);
  }
  const saved = results.dispose.map((d, k) => d.endMs - (results.exit[k]?.endMs ?? Number.NaN));
  log(`- exit at once saves ${f0(median(saved))} ms of wall time at the end (median of per-pair differences); load average at end ${loadAverages()}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
