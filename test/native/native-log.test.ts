// whisper.cpp's and ggml's log lines reach the logger, including the reason whisper.cpp gives for a
// model it refuses, and a logger that throws cannot take the process down.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { loadBinding } from '../../src/native/binding.js';
import { setNativeLogger, WhisperModel } from '../../src/native/index.js';
import { corruptModelCase } from '../fixtures/corrupt-models.js';
import { useSyntheticModel } from '../helpers/synthetic-model.js';

const fixture = useSyntheticModel('mini', 'native-log');

afterEach(() => {
  setNativeLogger(null);
  loadBinding()._injectFault(null);
});

describe('native log lines', () => {
  it("carry whisper.cpp's own reason when it refuses a damaged model (the file check skipped)", async () => {
    const lines: string[] = [];
    setNativeLogger((level, line) => lines.push(`${level} ${line}`), 'info');
    const damaged = await corruptModelCase('unknown tensor name (encoder.conv3.bias)').make(fixture.dir, fixture.path);
    // The file check refuses this file before whisper.cpp sees it; skipping it once stands for a
    // file that changes between the check and whisper.cpp's own read.
    loadBinding()._injectFault('model_file.check', 'skip');
    await expect(WhisperModel.load(damaged, { threads: 1 })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines).toContainEqual(expect.stringMatching(/^error whisper_model_load: unknown tensor 'encoder\.conv3\.bias' in model file$/));
  });

  it('from a handler that throws are dropped; the process lives on', async () => {
    const helper = join(import.meta.dirname, 'helpers', 'throwing-log-handler.ts');
    // The policy flag makes an exception escaping a Node-API callback fatal, as it will be by
    // default; without it Node 20 only prints a warning, which is checked for too.
    const args = ['--force-node-api-uncaught-exceptions-policy=true', '--import', 'tsx', helper, fixture.path];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { timeout: 60_000 });
    expect(stdout).toMatch(/^alive after [1-9]\d* lines$/m);
    expect(stderr).not.toMatch(/Uncaught N-API callback exception/);
  });
});
