// V8 is told what a model holds in native memory (weights + states; read back through
// systemInfo().externalMemory, since process.memoryUsage().external counts only ArrayBuffers), and a model dropped without
// dispose() is freed by the garbage collector, without crashing. Runs in a child Node process:
// global.gc and process-wide counters need a process of their own.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { expect, it } from 'vitest';

import { useSyntheticModel } from '../helpers/synthetic-model.js';

const fixture = useSyntheticModel('mini', 'native-memory');
const MB = 1024 * 1024;

it("reports the model's native bytes to V8 and frees a collected model", async () => {
  const helper = join(import.meta.dirname, 'helpers', 'native-memory.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', helper, fixture.path], { timeout: 120_000 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number | boolean>;
  const n = (key: string): number => r[key] as number;
  expect(r.weightsBytes).toBeGreaterThan(4 * MB);
  expect(r.stateBytes).toBeGreaterThan(0);
  // Loaded: external memory grows by the weights (give or take a little of everything else).
  expect(n('afterLoad') - n('before')).toBeGreaterThan(n('weightsBytes') * 0.9);
  expect(n('afterLoad') - n('before')).toBeLessThan(n('weightsBytes') * 1.1 + MB);
  // The first transcription built a state: its buffers are counted too.
  expect(n('afterTranscribe') - n('afterLoad')).toBeGreaterThan(n('stateBytes') * 0.9);
  // Disposed: all of it is given back.
  expect(Math.abs(n('afterDispose') - n('before'))).toBeLessThan(MB);
  // Dropped without dispose: counted while alive, freed by the collector.
  expect(r.liveBeforeDrop).toBe(0);
  expect(r.liveWhileDropped).toBe(1);
  expect(n('externalWhileDropped') - n('before')).toBeGreaterThan(n('weightsBytes') * 0.9);
  expect(r.liveAfterCollect).toBe(0);
  expect(r.inFlightSettled).toBe(true);
  expect(Math.abs(n('afterCollect') - n('before'))).toBeLessThan(MB);
});
