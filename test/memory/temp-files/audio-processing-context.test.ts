// AudioProcessingContext over a real TempFileRegistry and real files.
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AudioProcessingContext } from '../../../src/memory/temp-files/index.js';
import { TempFileError, TempFileRegistry } from '../../../src/memory/temp-files/index.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { nameFor } from '../helpers/temp-names.js';
import { makeUnremovable } from '../helpers/unremovable.js';

let root: { path: string; remove: () => Promise<void> };
let cases = 0;

beforeAll(async () => {
  root = await tempDir('audio-context');
});

afterAll(async () => {
  await root.remove();
});

function openRegistry(): Promise<TempFileRegistry> {
  return TempFileRegistry.open({ dir: join(root.path, `case-${++cases}`) });
}

/**
 * The owner a tracked file is registered for, as the registry shows it: registering the path again
 * is accepted for its own owner and refused for any other.
 */
function ownerOf(registry: TempFileRegistry, path: string): string | undefined {
  const candidates = ['session-1', 'session-2', 'session-3', 'session-4'];
  const accepted = candidates.filter((owner) => codeOf(() => registry.register(path, { owner })) === undefined);
  return accepted.length === 1 ? accepted[0] : `accepted for ${JSON.stringify(accepted)}`;
}

function codeOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (err) {
    return err instanceof TempFileError ? err.code : `not a TempFileError: ${String(err)}`;
  }
  return undefined;
}

describe('AudioProcessingContext', () => {
  it('removes its files when the block ends', async () => {
    await using registry = await openRegistry();
    let paths: string[] = [];
    {
      await using ctx = new AudioProcessingContext(registry, { owner: 'session-1' });
      const upload = ctx.createTempPath('webm');
      const wav = ctx.createTempPath('.WAV');
      await writeFile(upload, Buffer.alloc(2048));
      await writeFile(wav, Buffer.alloc(4096));
      expect(wav.endsWith('.wav')).toBe(true);
      expect(ctx.tempFiles).toEqual([upload, wav]);
      expect(registry.stats()).toMatchObject({ count: 2, owners: 1 });
      expect([ownerOf(registry, upload), ownerOf(registry, wav)]).toEqual(['session-1', 'session-1']);
      paths = [upload, wav];
    }
    expect(paths.map((p) => existsSync(p))).toEqual([false, false]);
    expect(registry.stats().count).toBe(0);
    expect(await readdir(registry.dir)).toEqual([]);
  });

  it('removes its files when the work throws, and the error passes through unchanged', async () => {
    await using registry = await openRegistry();
    const failure = new Error('ffmpeg failed');
    const paths: string[] = [];
    const work = async (): Promise<void> => {
      await using ctx = new AudioProcessingContext(registry);
      for (const ext of ['ogg', 'wav']) {
        const path = ctx.createTempPath(ext);
        await writeFile(path, 'partial');
        paths.push(path);
      }
      throw failure;
    };
    await expect(work()).rejects.toBe(failure);
    expect(paths.some((p) => existsSync(p))).toBe(false);
    expect(registry.stats().count).toBe(0);
  });

  it('dispose is idempotent and the context refuses use afterwards', async () => {
    await using registry = await openRegistry();
    const ctx = new AudioProcessingContext(registry);
    const path = ctx.createTempPath();
    await writeFile(path, 'x');
    const first = ctx.dispose();
    expect(ctx.dispose()).toBe(first);
    await first;
    await ctx[Symbol.asyncDispose]();
    expect(ctx.disposed).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(codeOf(() => ctx.createTempPath())).toBe('TEMP_CONTEXT_DISPOSED');
    expect(codeOf(() => ctx.addTempFile(path))).toBe('TEMP_CONTEXT_DISPOSED');
  });

  it('adopts files the registry tracks, registers files of its scheme, refuses others', async () => {
    await using registry = await openRegistry();
    const tracked = registry.createPath({ ext: 'wav', owner: 'session-2' });
    const handedBack = join(registry.dir, nameFor(process.pid)); // of the registry's scheme, not tracked
    for (const path of [tracked, handedBack]) await writeFile(path, 'x');
    const foreign = join(dirname(registry.dir), 'foreign.wav');
    await writeFile(foreign, 'not ours');

    const ctx = new AudioProcessingContext(registry, { owner: 'session-3' });
    ctx.addTempFile(tracked);
    ctx.addTempFile(handedBack);
    expect(codeOf(() => ctx.addTempFile(foreign))).toBe('TEMP_PATH_REFUSED');
    expect(ownerOf(registry, tracked)).toBe('session-2'); // adopted, owner kept
    expect(ownerOf(registry, handedBack)).toBe('session-3'); // registered for the context's owner
    expect(registry.stats()).toMatchObject({ count: 2, owners: 2 });
    expect(ctx.tempFiles).toHaveLength(2);
    await ctx.dispose();
    expect([existsSync(tracked), existsSync(handedBack), existsSync(foreign)]).toEqual([false, false, true]);
  });

  it('a path created but never written is no error', async () => {
    await using registry = await openRegistry();
    await using ctx = new AudioProcessingContext(registry);
    ctx.createTempPath('wav');
    await expect(ctx.dispose()).resolves.toBeUndefined();
    expect(registry.stats().count).toBe(0);
  });

  it('does not reject when a file cannot be removed: logs it, and the registry keeps it for the sweep', async (t) => {
    await using registry = await openRegistry();
    const logger = recordingLogger();
    const ctx = new AudioProcessingContext(registry, { logger });
    const stuck = ctx.createTempPath('wav');
    const fine = ctx.createTempPath('wav');
    await writeFile(stuck, 'x');
    await writeFile(fine, 'x');
    const restore = await makeUnremovable(stuck);
    if (!restore) return t.skip('cannot make unlink fail on this machine');
    try {
      await expect(ctx.dispose()).resolves.toBeUndefined();
      expect(existsSync(stuck)).toBe(true);
      expect(registry.has(stuck)).toBe(true);
      expect(logger.records).toEqual([
        expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ path: stuck, code: expect.stringMatching(/^(EACCES|EPERM)$/) }) }),
      ]);
    } finally {
      await restore();
    }
    // `fine` was removed whatever the order; `stuck` goes with the next sweep.
    expect(existsSync(fine)).toBe(false);
    expect((await registry.sweep(0)).removed).toBe(1);
    expect(existsSync(stuck)).toBe(false);
  });
});

describe('a context with `await using` around a piece of work', () => {
  it('returns what the work returns and removes its files', async () => {
    await using registry = await openRegistry();
    let path = '';
    const transcribe = async (): Promise<string> => {
      await using ctx = new AudioProcessingContext(registry);
      path = ctx.createTempPath('wav');
      await writeFile(path, 'pcm');
      return 'transcript';
    };
    expect(await transcribe()).toBe('transcript');
    expect(existsSync(path)).toBe(false);
  });

  it('rejects with the work error and removes its files', async () => {
    await using registry = await openRegistry();
    let path = '';
    const failure = new Error('decoder failed');
    const transcribe = async (): Promise<string> => {
      await using ctx = new AudioProcessingContext(registry, { owner: 'session-4' });
      path = ctx.createTempPath('wav');
      await writeFile(path, 'pcm');
      throw failure;
    };
    await expect(transcribe()).rejects.toBe(failure);
    expect(existsSync(path)).toBe(false);
    expect(registry.stats()).toMatchObject({ count: 0, owners: 0 });
  });
});
