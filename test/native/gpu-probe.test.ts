// The GPU probe through the public API. It is compiled in wherever CMake found the CUDA runtime
// for the addon's build, and it answers "no device" cleanly on a machine without a GPU: the model
// still loads, transcribes, trims and reports its memory, with `gpu: null`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { systemInfo, WhisperModel } from '../../src/native/index.js';
import { syllableTones } from '../helpers/signals.js';
import { tempDir } from '../helpers/temp-dir.js';

const repoRoot = join(import.meta.dirname, '..', '..');

/** Whether CMake found the CUDA runtime library when it configured the addon's build (build/). */
function cmakeFoundCudaRuntime(): boolean {
  const cache = readFileSync(join(repoRoot, 'build', 'CMakeCache.txt'), 'utf8');
  const library = /^CUDA_CUDART:FILEPATH=(.*)$/m.exec(cache)?.[1] ?? '';
  return library !== '' && !library.endsWith('NOTFOUND');
}

/** An NVIDIA GPU is visible to this process when the driver's control device exists. */
const machineHasNvidiaGpu = existsSync('/dev/nvidiactl');

let dir: { path: string; remove: () => Promise<void> };
let mini: string;

beforeAll(async () => {
  dir = await tempDir('gpu-probe');
  mini = (await writeSyntheticModel(join(dir.path, 'mini.bin'), { dims: 'mini' })).path;
});

afterAll(async () => {
  await dir.remove();
});

describe('systemInfo().gpuProbe', () => {
  it('is true exactly when the addon was built with the CUDA runtime found', () => {
    expect(systemInfo().gpuProbe).toBe(cmakeFoundCudaRuntime());
  });
});

describe('memory().gpu', () => {
  it.runIf(!machineHasNvidiaGpu)('is null on a machine without a GPU, and the model works all the same', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2, useGpu: true });
    expect((await model.memory()).gpu).toBeNull();
    const result = await model.transcribe(syllableTones(2));
    expect(result.segments.length).toBeGreaterThan(0);
    // Asking again after the runtime said "no device" still answers cleanly.
    expect((await model.memory()).gpu).toBeNull();
    const trimmed = await model.trim();
    expect(trimmed.statesFreed).toBe(1);
    expect((await model.memory()).gpu).toBeNull();
  });

  it.runIf(machineHasNvidiaGpu && systemInfo().gpuProbe)('reports the device where there is one', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2, useGpu: true });
    const gpu = (await model.memory()).gpu;
    expect(gpu).not.toBeNull();
    expect(gpu?.total).toBeGreaterThan(0);
    expect(gpu?.free).toBeGreaterThan(0);
    expect(gpu?.free).toBeLessThanOrEqual(gpu?.total ?? 0);
    expect(gpu?.device).toBe(0);
    expect(gpu?.name).not.toBe('');
  });

  it('is null when the model was loaded with useGpu off', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2, useGpu: false });
    expect((await model.memory()).gpu).toBeNull();
  });
});
