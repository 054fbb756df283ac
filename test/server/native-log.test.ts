// The composition root wires whisper.cpp's log into the server's: the reason whisper.cpp gives for
// a model it cannot load is in the log file of a server that failed to start.
import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { loadBinding } from '../../src/native/binding.js';
import { setNativeLogger } from '../../src/native/index.js';
import { createLogger, logFileOf, readServerConfig, startServer } from '../../src/server/index.js';
import { corruptModelCase } from '../fixtures/corrupt-models.js';
import { makeRoot, testEnv, type Root } from '../http/helpers/harness.js';

let root: Root;

beforeAll(async () => {
  root = await makeRoot('native-log');
});

afterAll(async () => {
  setNativeLogger(null);
  loadBinding()._injectFault(null);
  await root.remove();
});

it("logs whisper.cpp's reason when the model fails to load at start-up", async () => {
  const damaged = await corruptModelCase('unknown tensor name (encoder.conv3.bias)').make(root.path, root.model);
  const config = readServerConfig(testEnv(root, 'native-log', { WHISPER_MODEL: damaged, HOST: '127.0.0.1', PORT: '0' }));
  const logger = createLogger({ level: config.logLevel, file: logFileOf(config) });
  // Skipping the file check once stands for a file that changes between the check and whisper.cpp's read.
  loadBinding()._injectFault('model_file.check', 'skip');
  await expect(startServer(config, { logger })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const lines = (await readFile(config.logFile ?? '', 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; native?: string });
  expect(lines).toContainEqual(expect.objectContaining({ native: 'whisper', level: 50, msg: "whisper_model_load: unknown tensor 'encoder.conv3.bias' in model file" }));
});
