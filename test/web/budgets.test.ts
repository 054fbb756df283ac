// The size budgets: the memory guards ≤ 6 KB and the whole page ≤ 30 KB, minified by esbuild and
// gzipped by zlib (level 9), as built for production.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildWeb, bundle, gzipSize } from '../../web/build.js';
import { tempDir } from '../helpers/temp-dir.js';

const KB = 1024;
const GUARDS_BUDGET = 6 * KB;
const PAGE_BUDGET = 30 * KB;

let cleanup: (() => Promise<void>) | undefined;
afterAll(async () => cleanup?.());

describe('size budgets (min+gzip)', () => {
  it(`the guards (MemoryManager, SafeMediaRecorder, AudioBlobHandler) stay within ${GUARDS_BUDGET / KB} KB`, async () => {
    const guards = await bundle('src/guards.ts');
    const size = gzipSize(guards);
    console.log(`guards: ${guards.length} B minified, ${size} B min+gzip (budget ${GUARDS_BUDGET} B)`);
    expect(guards.length).toBeGreaterThan(1000); // it really bundled them
    expect(size).toBeLessThanOrEqual(GUARDS_BUDGET);
  });

  it(`the whole page (index.html, app.js, app.css) stays within ${PAGE_BUDGET / KB} KB`, async () => {
    const dir = await tempDir('web-budget');
    cleanup = dir.remove;
    const files = await buildWeb(join(dir.path, 'dist'));
    const total = files.reduce((n, f) => n + f.gzipBytes, 0);
    console.log(`page: ${files.map((f) => `${f.name} ${f.gzipBytes} B`).join(', ')}; ${total} B min+gzip (budget ${PAGE_BUDGET} B)`);
    expect(files.map((f) => f.name).sort()).toEqual(['app.css', 'app.js', 'index.html']);
    expect(total).toBeLessThanOrEqual(PAGE_BUDGET);
    await rm(join(dir.path, 'dist'), { recursive: true });
  });
});
