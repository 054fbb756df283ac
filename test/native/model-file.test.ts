// Damaged model files are refused with a code before whisper.cpp reads them, and the process lives.
import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { WhisperModel } from '../../src/native/index.js';
import { CORRUPT_MODEL_CASES, HEADER_OFFSETS } from '../fixtures/corrupt-models.js';
import { useSyntheticModel } from '../helpers/synthetic-model.js';

const fixture = useSyntheticModel('mini', 'model-file');
let good: string;
let dir: { path: string };

beforeAll(() => {
  good = fixture.path;
  dir = { path: fixture.dir };
});

describe('model file checks', () => {
  it('loads the good model', async () => {
    await using model = await WhisperModel.load(good);
    expect(model.info.nAudioLayer).toBe(1);
  });

  for (const c of CORRUPT_MODEL_CASES) {
    it.skipIf(c.skipReason !== undefined)(`${c.name} → ${c.expectedCode}`, async () => {
      const path = await c.make(dir.path, good);
      const error = await WhisperModel.load(path).then(
        async (m) => {
          await m.dispose();
          return null;
        },
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: c.expectedCode, name: 'WhisperError' });
      // The path is for the log (modelPath); the message may reach an HTTP client.
      expect((error as Error).message).not.toContain(dir.path);
      expect(error).toMatchObject({ modelPath: path });
    });
  }

  it('refuses an all-f32 model (ftype 0), whose first transcription would abort whisper.cpp', async () => {
    const path = join(dir.path, 'ftype0.bin');
    await copyFile(good, path);
    const file = await open(path, 'r+');
    await file.write(Buffer.alloc(4), 0, 4, HEADER_OFFSETS.hparams.ftype);
    await file.close();
    await expect(WhisperModel.load(path)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringMatching(/ftype 0/) });
  });

  it('validates load options before touching the file', async () => {
    await expect(WhisperModel.load(good, { maxStates: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'Expected an integer between 1 and 64 for maxStates but received number 0',
    });
    await expect(WhisperModel.load('' as string)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(WhisperModel.load(good, { useGpu: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
