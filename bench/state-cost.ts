/**
 * What one more whisper state costs, the figure predictive admission counts on: whisper.cpp's own
 * accounting of a state's buffers (ModelMemory.bytesPerState, read from whisper_init_state) against
 * the RSS the process gains when the pool builds a second state and a transcription runs on it.
 * Synthetic tiny.en model, MAX_CONCURRENCY 2, one thread per transcription; each clip length in a
 * fresh process, so no freed memory from an earlier run is reused and hides the growth.
 *
 *   npx tsx bench/state-cost.ts [--clips 5,30]
 *
 * Per clip length: RSS after load, after one transcription (the first state), after two at once
 * (the second state built and used), and the second state's RSS against whisper's figure.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

import { ModelHost } from '../src/model/host.js';
import { writeSyntheticModel } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';

const { values } = parseArgs({ options: { clips: { type: 'string', default: '5,30' }, clip: { type: 'string' }, model: { type: 'string' } } });
const MB = 1024 * 1024;
const mb = (bytes: number): string => (bytes / MB).toFixed(1);

interface Measure {
  clipS: number;
  afterLoad: number;
  afterFirst: number;
  afterSecond: number;
  statesTotal: number;
  bytesPerState: number;
}

async function measure(model: string, clipS: number): Promise<Measure> {
  const host = new ModelHost({ path: model, loadOptions: { threads: 1, maxStates: 2 } });
  await host.acquire();
  const clip = syllableTones(clipS);
  const options = { temperatureIncrement: 0 };
  const afterLoad = process.memoryUsage().rss;
  await host.transcribe(clip, options);
  const afterFirst = process.memoryUsage().rss;
  await Promise.all([host.transcribe(clip, options), host.transcribe(clip, options)]);
  const afterSecond = process.memoryUsage().rss;
  const memory = await host.memory();
  await host.dispose();
  return { clipS, afterLoad, afterFirst, afterSecond, statesTotal: memory?.states.total ?? 0, bytesPerState: memory?.bytesPerState ?? 0 };
}

if (values.clip !== undefined && values.model !== undefined) {
  // One clip length, in a process of its own: report to the parent as JSON.
  console.log(JSON.stringify(await measure(values.model, Number(values.clip))));
} else {
  const run = promisify(execFile);
  const dir = await mkdtemp(join(tmpdir(), 'talk2me-state-cost-'));
  try {
    const { path } = await writeSyntheticModel(join(dir, 'tiny.bin'), { dims: 'tiny' });
    console.log('model: synthetic tiny.en, threads 1 per transcription, max 2 states; each clip length in a fresh process');
    for (const clipS of values.clips.split(',').map(Number)) {
      const { stdout } = await run(process.execPath, [...process.execArgv, process.argv[1] as string, '--clip', String(clipS), '--model', path], { maxBuffer: 1 << 20 });
      const m = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measure;
      const second = m.afterSecond - m.afterFirst;
      console.log(
        `clip ${m.clipS} s: RSS after load ${mb(m.afterLoad)} MB, after the first state ${mb(m.afterFirst)} MB (+${mb(m.afterFirst - m.afterLoad)}), ` +
          `after the second ${mb(m.afterSecond)} MB (+${mb(second)}); states ${m.statesTotal}; whisper.cpp per state ${mb(m.bytesPerState)} MB; ` +
          `second state's RSS / whisper's figure ${(second / m.bytesPerState).toFixed(2)}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
