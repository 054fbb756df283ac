// The page's language list is whisper.cpp's: every code in it is one whisper.cpp knows (asked of
// the native engine itself), and none is missing against its language table where the source is
// laid out (vendor/whisper.cpp, present after npm install).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WhisperModel } from '../../src/native/index.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { languageName, WHISPER_LANGUAGES } from '../../web/src/languages.js';
import { tempDir } from '../helpers/temp-dir.js';

const WHISPER_SOURCE = join(import.meta.dirname, '../../vendor/whisper.cpp/src/whisper.cpp');

describe('the language list', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let model: WhisperModel;
  beforeAll(async () => {
    dir = await tempDir('web-languages');
    await writeSyntheticModel(join(dir.path, 'mini.bin'), { dims: 'mini' });
    model = await WhisperModel.load(join(dir.path, 'mini.bin'), { threads: 1 });
  });
  afterAll(async () => {
    await model?.dispose();
    await dir?.remove();
  });

  // The mini model is English-only: whisper.cpp refuses a language it knows for that reason, and
  // one it does not know as unknown, before any inference.
  const refusal = (language: string): Promise<string> =>
    model.transcribe(new Float32Array(1600), { language }).then(
      () => 'accepted',
      (err: unknown) => (err as Error).message,
    );

  it('every code is one whisper.cpp knows', async () => {
    expect(await refusal('xx')).toMatch(/Unknown language 'xx'/);
    for (const code of WHISPER_LANGUAGES.filter((c) => c !== 'en')) {
      expect(await refusal(code), code).toMatch(/English-only/);
    }
    expect(new Set(WHISPER_LANGUAGES).size).toBe(WHISPER_LANGUAGES.length);
  });

  it.skipIf(!existsSync(WHISPER_SOURCE))('none is missing against whisper.cpp’s language table', () => {
    const table = readFileSync(WHISPER_SOURCE, 'utf8').match(/^\s*\{\s*"([a-z]+)",\s*\{\s*\d+,\s*"[a-z ]+"/gm) ?? [];
    const codes = table.map((line) => /"([a-z]+)"/.exec(line)?.[1]);
    expect(codes.length).toBeGreaterThan(90);
    expect(WHISPER_LANGUAGES).toEqual(codes);
  });

  it('names come from Intl.DisplayNames, with whisper’s "jw" read as Javanese', () => {
    const names = new Intl.DisplayNames(['en'], { type: 'language' });
    expect(languageName('de', names)).toBe('German');
    expect(languageName('jw', names)).toBe('Javanese');
    expect(languageName('yue', names)).toBe('Cantonese');
    expect(languageName('haw', null)).toBe('haw');
  });
});
