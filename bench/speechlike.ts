/**
 * The two loads a synthetic model can put on the decoder, side by side: the encoder-bound model
 * (all weights random) and the speech-like one (`decoder: 'speechlike'`), same dims, same seed,
 * same clips, same threads, alternating.
 *
 *   npx tsx bench/speechlike.ts [--dims tiny,mini] [--clips 5,10,30] [--reps 5] [--threads 2] [--fallback off|on|both]
 *
 * Per dims, clip and decoding: the text tokens each model decodes and their rate per second of
 * audio, the segments, and the median time per clip (wall, and the CPU time of this process, which
 * runs whisper's threads: on a shared machine the CPU time moves less with other people's work),
 * with whisper's own split into encode and decode; then speech-like / encoder-bound.
 *
 * Decoding: greedy, timestamps on, language en. `--fallback off` (default) is what bench:native and
 * bench:http use (temperatureIncrement 0); `on` is talk2me's default, under which the encoder-bound
 * model fails whisper's log-probability threshold and decodes each window again at five higher
 * temperatures; the speech-like model never does. Both models are loaded once and warmed up; each
 * repetition runs them in turn, the order swapped every time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import type { ModelDimsName } from '../src/model/dims.js';
import { SPEECHLIKE_TOKENS_PER_SECOND } from '../src/model/speechlike.js';
import { writeSyntheticModel, type SyntheticDecoder } from '../src/model/synthetic.js';
import { WhisperModel, type TranscribeOptions } from '../src/native/index.js';
import { syllableTones } from '../test/helpers/signals.js';
import { f0, f1, f2, median } from './stats.js';

const { values } = parseArgs({
  options: {
    dims: { type: 'string', default: 'tiny,mini' },
    clips: { type: 'string', default: '5,10,30' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    fallback: { type: 'string', default: 'off' },
  },
});
const dimsList = values.dims.split(',') as ModelDimsName[];
const clips = values.clips.split(',').map(Number);
const reps = Number(values.reps);
const threads = Number(values.threads);
const fallbacks = values.fallback === 'both' ? [false, true] : [values.fallback === 'on'];
const DECODERS: readonly SyntheticDecoder[] = ['encoder-bound', 'speechlike'];

interface Run {
  wallMs: number;
  cpuMs: number;
  encodeMs: number;
  decodeMs: number;
  textTokens: number;
  segments: number;
}

async function transcribeOnce(model: WhisperModel, pcm: Float32Array, options: TranscribeOptions): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await model.transcribe(pcm, options);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    encodeMs: result.timings.encodeMs,
    decodeMs: result.timings.decodeMs,
    textTokens: result.segments.reduce((sum, s) => sum + s.tokens.length, 0),
    segments: result.segments.length,
  };
}

const loads = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const started = performance.now();
console.log(`machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}; load average at start ${loads()}`);
console.log(`threads ${threads}, ${reps} repetitions per cell after one warm-up, greedy, timestamps on, language en; speech-like design rate ${SPEECHLIKE_TOKENS_PER_SECOND} text tokens/s`);

const dir = await mkdtemp(join(tmpdir(), 'talk2me-speechlike-bench-'));
try {
  for (const dims of dimsList) {
    const models = new Map<SyntheticDecoder, WhisperModel>();
    for (const decoder of DECODERS) {
      const { path } = await writeSyntheticModel(join(dir, `${dims}-${decoder}.bin`), { dims, decoder });
      models.set(decoder, await WhisperModel.load(path, { threads }));
    }
    try {
      for (const fallback of fallbacks) {
        const options: TranscribeOptions = fallback ? {} : { temperatureIncrement: 0 };
        console.log(`\n${dims}, temperature fallback ${fallback ? 'on (talk2me default)' : 'off'}`);
        console.log('clip s | model         | text tokens | tokens/s | segments | wall ms | cpu ms | encode ms | decode ms');
        for (const clipS of clips) {
          const pcm = syllableTones(clipS);
          for (const model of models.values()) await model.transcribe(pcm, options);
          const runs = new Map<SyntheticDecoder, Run[]>(DECODERS.map((d) => [d, []]));
          for (let rep = 0; rep < reps; rep++) {
            const order = rep % 2 === 0 ? DECODERS : [...DECODERS].reverse();
            for (const decoder of order) runs.get(decoder)?.push(await transcribeOnce(models.get(decoder) as WhisperModel, pcm, options));
          }
          const med = (decoder: SyntheticDecoder, key: keyof Run): number => median((runs.get(decoder) ?? []).map((r) => r[key]));
          for (const decoder of DECODERS) {
            const tokens = med(decoder, 'textTokens');
            console.log(
              `${String(clipS).padStart(6)} | ${decoder.padEnd(13)} | ${f0(tokens).padStart(11)} | ${f2(tokens / clipS).padStart(8)} | ` +
                `${f0(med(decoder, 'segments')).padStart(8)} | ${f0(med(decoder, 'wallMs')).padStart(7)} | ${f0(med(decoder, 'cpuMs')).padStart(6)} | ` +
                `${f0(med(decoder, 'encodeMs')).padStart(9)} | ${f0(med(decoder, 'decodeMs')).padStart(9)}`,
            );
          }
          const ratio = (key: keyof Run): string => f2(med('speechlike', key) / med('encoder-bound', key));
          console.log(`${String(clipS).padStart(6)} | speech/enc    | ${''.padStart(11)} | ${''.padStart(8)} | ${''.padStart(8)} | ${ratio('wallMs').padStart(6)}x | ${ratio('cpuMs').padStart(5)}x | ${''.padStart(9)} | ${ratio('decodeMs').padStart(8)}x`);
        }
      }
    } finally {
      for (const model of models.values()) await model.dispose();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(`\n(whole run ${f1((performance.now() - started) / 1000)} s; load average at end ${loads()})`);
