import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import type { ModelDimsName } from '../../src/model/dims.js';
import { writeSyntheticModel, type SyntheticDecoder } from '../../src/model/synthetic.js';
import { tempDir } from './temp-dir.js';

export interface SyntheticModelFixture {
  /** The model file; set once the suite's beforeAll has run. */
  path: string;
  /** The temp directory holding it, for other files a test writes. */
  dir: string;
}

/**
 * Writes a synthetic model into a fresh temp dir before the suite and removes both after it. The
 * decoder's load is the suite's choice: `encoder-bound` (the default) decodes a few tokens per
 * window, `speechlike` a speech-like 2.4 text tokens per second of audio in 5 s segments.
 */
export function useSyntheticModel(dims: ModelDimsName, prefix: string, decoder: SyntheticDecoder = 'encoder-bound'): SyntheticModelFixture {
  const fixture: SyntheticModelFixture = { path: '', dir: '' };
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const dir = await tempDir(prefix);
    remove = dir.remove;
    fixture.dir = dir.path;
    fixture.path = (await writeSyntheticModel(join(dir.path, `${dims}.bin`), { dims, decoder })).path;
  });
  afterAll(async () => {
    await remove?.();
  });
  return fixture;
}
