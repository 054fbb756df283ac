// The GPU service check's driver (bench/gpu-service.ts) on this machine's CPU build: `talk2me serve`
// from dist/, a mini synthetic model, a reload under load with no failed request, SIGTERM's exit 0,
// and the device checks skipped and said so; asked to require a GPU, the same run fails. The whole
// script, with its kit and its own builds, is the documented dry run (bench/RESULTS.md): it compiles
// whisper.cpp twice over and takes minutes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { tempDir } from '../helpers/temp-dir.js';

const repo = join(import.meta.dirname, '..', '..');
let dir: { path: string; remove: () => Promise<void> };
let model: string;

beforeAll(async () => {
  dir = await tempDir('gpu-service');
  model = (await writeSyntheticModel(join(dir.path, 'mini.bin'), { dims: 'mini', seed: 7 })).path;
});
afterAll(async () => {
  await dir?.remove();
});

function driver(name: string, extra: string[]): { status: number | null; out: string } {
  const run = spawnSync(
    process.execPath,
    [
      '--import', 'tsx', join(repo, 'bench', 'gpu-service.ts'),
      '--app', repo, '--model', model, '--work', join(dir.path, name),
      '--concurrency', '2', '--threads', '1', '--clients', '4', '--seconds', '2',
      ...extra,
    ],
    { cwd: repo, encoding: 'utf8', timeout: 240_000 },
  );
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('bench/gpu-service.ts on the CPU', () => {
  it('passes without a GPU, skipping the device checks and saying so', () => {
    const { status, out } = driver('cpu', ['--requests', '12']);
    expect(out).toContain('no GPU: device checks skipped');
    expect(out).toMatch(/ok {3}no failed request during the reload: 12 requests/);
    expect(out).toMatch(/ok {3}reload under load: .*"previous_draining":true.*reload_count 0 -> 1/);
    expect(out).toMatch(/ok {3}SIGTERM: graceful shutdown: exit code 0/);
    expect(out).toContain('no --whisper-server: comparison skipped');
    expect(out).not.toMatch(/VRAM/);
    expect(out).toMatch(/PASS: \d+ checks \(no GPU: device checks skipped\)/);
    expect(status, out).toBe(0);
  });

  it('fails when a GPU is required and the memory manager reads none', () => {
    const { status, out } = driver('require-gpu', ['--requests', '4', '--require-gpu']);
    expect(out).toMatch(/FAIL GPU memory read by the memory manager: gpu_mb and gpu_total_mb are null/);
    expect(out).toMatch(/FAIL: GPU memory read by the memory manager/);
    expect(status, out).toBe(1);
  });
});
