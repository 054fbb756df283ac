/**
 * What the per-transcription trim policy costs: TRIM_AFTER_TRANSCRIPTION=never keeps the whisper
 * state between requests, always frees it after each one (the seed's "clear the cache after each
 * operation"). Same synthetic tiny.en model, same 5 s clip, one request at a time, the two
 * policies alternated request by request on two hosts in this one process.
 *
 *   npx tsx bench/trim-policy.ts [--requests 12] [--threads 2]
 *
 * Prints the median latency of each policy and their ratio, and the RSS each leaves between
 * requests: the price of keeping a state against the time it saves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { ModelHost } from '../src/model/host.js';
import { writeSyntheticModel } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '12' }, threads: { type: 'string', default: '2' } } });
const requests = Number(values.requests);
const threads = Number(values.threads);
const MB = 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'talk2me-trim-bench-'));
try {
  const { path } = await writeSyntheticModel(join(dir, 'tiny.bin'), { dims: 'tiny' });
  const clip = syllableTones(5);
  const hosts = {
    never: new ModelHost({ path, loadOptions: { threads }, trimPolicy: 'never' }),
    always: new ModelHost({ path, loadOptions: { threads }, trimPolicy: 'always' }),
  };
  const latency: Record<keyof typeof hosts, number[]> = { never: [], always: [] };
  const stateMb: Record<keyof typeof hosts, number[]> = { never: [], always: [] };
  for (const host of Object.values(hosts)) await host.transcribe(clip, { temperatureIncrement: 0 }); // warm-up, not counted
  for (let i = 0; i < requests; i++) {
    for (const name of ['never', 'always'] as const) {
      const t0 = performance.now();
      await hosts[name].transcribe(clip, { temperatureIncrement: 0 });
      latency[name].push(performance.now() - t0);
      const m = await hosts[name].memory();
      stateMb[name].push(m ? (m.states.total * m.bytesPerState) / MB : 0);
    }
  }
  const never = median(latency.never);
  const always = median(latency.always);
  console.log(`requests per policy: ${requests}, threads: ${threads}, clip: 5 s, model: synthetic tiny.en`);
  console.log(`never:  median ${never.toFixed(0)} ms per request, whisper state kept between requests: ${median(stateMb.never).toFixed(1)} MB`);
  console.log(`always: median ${always.toFixed(0)} ms per request, whisper state kept between requests: ${median(stateMb.always).toFixed(1)} MB`);
  console.log(`latency ratio always / never: ${(always / never).toFixed(3)}`);
  for (const host of Object.values(hosts)) await host.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
