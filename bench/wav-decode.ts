/**
 * What decoding a large WAV upload does to the server's event loop: decodeWav (one synchronous
 * call) against decodeWavInSlices (one second of audio per slice, the loop's other work in
 * between; what the server uses). A 1 ms interval timer stands in for the other requests; the
 * longest gap between its ticks is how long they would have waited.
 *
 *   npx tsx bench/wav-decode.ts [--rounds 5] [--seconds 136]
 *
 * Default input: 136 s of 48 kHz stereo 16-bit WAV (26 MB, about MAX_UPLOAD_MB's 25) and 390 s of
 * 16 kHz mono (12.5 MB, no resampling). Rounds alternate the two decoders.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { decodeWav, decodeWavInSlices } from '../src/audio/index.js';
import { wavHeader } from '../test/http/helpers/audio.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '136' } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

/** 16-bit PCM of a plain tone, `channels` interleaved. */
function pcm16Wav(rate: number, channels: number, durationS: number): Buffer {
  const samples = Math.round(rate * durationS) * channels;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin(i / 7)), 2 * i);
  return Buffer.concat([wavHeader(data.length, { sampleRate: rate, channels }), data]);
}

/** Runs `work` with a 1 ms timer ticking; returns its wall time and the longest gap between ticks. */
async function measure(work: () => unknown): Promise<{ ms: number; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  last = performance.now();
  stallMs = 0;
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, 5)); // the tick that ends the last gap
  clearInterval(timer);
  return { ms, stallMs };
}

const inputs = [
  { name: `48 kHz stereo, ${seconds} s`, wav: pcm16Wav(48000, 2, seconds) },
  { name: `16 kHz mono, ${Math.round(seconds * 2.87)} s`, wav: pcm16Wav(16000, 1, seconds * 2.87) },
];
console.log(`node ${process.version}; ${rounds} rounds, decoders alternated`);
for (const { name, wav } of inputs) {
  decodeWav(wav); // filter design and JIT, not counted
  const results: Record<'decodeWav' | 'decodeWavInSlices', Array<{ ms: number; stallMs: number }>> = { decodeWav: [], decodeWavInSlices: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['decodeWav', 'decodeWavInSlices'] as const) : (['decodeWavInSlices', 'decodeWav'] as const);
    for (const decoder of order) {
      results[decoder].push(await measure(() => (decoder === 'decodeWav' ? decodeWav(wav) : decodeWavInSlices(wav))));
    }
  }
  const m = (decoder: keyof typeof results, key: 'ms' | 'stallMs') => median(results[decoder].map((r) => r[key]));
  console.log(`${name} (${(wav.length / 1e6).toFixed(1)} MB):`);
  for (const decoder of ['decodeWav', 'decodeWavInSlices'] as const) {
    console.log(`  ${decoder.padEnd(17)}: median ${m(decoder, 'ms').toFixed(0)} ms, longest event-loop stall ${m(decoder, 'stallMs').toFixed(1)} ms`);
  }
  console.log(`  in slices / in one go: time ${(m('decodeWavInSlices', 'ms') / m('decodeWav', 'ms')).toFixed(3)}, stall ${(m('decodeWavInSlices', 'stallMs') / m('decodeWav', 'stallMs')).toFixed(3)}`);
}
