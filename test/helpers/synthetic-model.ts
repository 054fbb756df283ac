import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import type { ModelDimsName } from '../../src/model/dims.js';
import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { tempDir } from './temp-dir.js';

export interface SyntheticModelFixture {
  /** The model file; set once the suite's beforeAll has run. */
  path: string;
  /** The temp directory holding it, for other files a test writes. */
  dir: string;
}

/** Writes a synthetic model into a fresh temp dir before the suite and removes both after it. */
export function useSyntheticModel(dims: ModelDimsName, prefix: string): SyntheticModelFixture {
  const fixture: SyntheticModelFixture = { path: '', dir: '' };
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const dir = await tempDir(prefix);
    remove = dir.remove;
    fixture.dir = dir.path;
    fixture.path = (await writeSyntheticModel(join(dir.path, `${dims}.bin`), { dims })).path;
  });
  afterAll(async () => {
    await remove?.();
  });
  return fixture;
}
