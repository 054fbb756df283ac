// TempFileRegistry through its public API, on real files in a fresh directory under the system
// temp dir; the start-up sweep after a SIGKILL in a real child process.
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TempFileError, TempFileRegistry } from '../../../src/memory/temp-files/index.js';
import { ArrivalQueue } from '../../../src/memory/temp-files/arrival-queue.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { startRegistryChild } from '../helpers/registry-child-process.js';
import { deadPid, nameFor } from '../helpers/temp-names.js';
import { makeUnremovable } from '../helpers/unremovable.js';

let root: { path: string; remove: () => Promise<void> };
let cases = 0;

beforeAll(async () => {
  root = await tempDir('temp-files');
});

afterAll(async () => {
  await root.remove();
});

/** A directory path of its own for each test (not created: the registry creates it). */
function freshDir(): string {
  return join(root.path, `case-${++cases}`, 'uploads');
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((err: unknown) => err instanceof TempFileError && err.code === code);
}

function expectThrowsCode(call: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    call();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(TempFileError);
  expect((thrown as TempFileError).code).toBe(code);
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('TempFileRegistry.open', () => {
  it('creates a missing directory, private to this user', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const info = await stat(dir);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);
    expect(registry.dir).toBe(dir);
    expect(registry.stats()).toEqual({ count: 0, bytes: 0, oldestAgeMs: null, owners: 0 });
  });

  it('refuses a symlink or a file where the directory should be', async () => {
    const base = dirname(freshDir());
    await mkdir(join(base, 'real'), { recursive: true });
    await symlink(join(base, 'real'), join(base, 'link'));
    await writeFile(join(base, 'file'), 'x');
    await expectCode(TempFileRegistry.open({ dir: join(base, 'link') }), 'TEMP_DIR_UNSAFE');
    await expect(TempFileRegistry.open({ dir: join(base, 'file') })).rejects.toThrow();
  });

  it('tightens an existing directory of this user that others could read', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    const logger = recordingLogger();
    await using _registry = await TempFileRegistry.open({ dir, logger });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(logger.records.some((r) => r.level === 'warn')).toBe(true);
  });

  it('allows one open registry per directory in a process', async () => {
    const dir = freshDir();
    const first = await TempFileRegistry.open({ dir });
    await expectCode(TempFileRegistry.open({ dir }), 'TEMP_DIR_IN_USE');
    await first.close();
    const second = await TempFileRegistry.open({ dir });
    await second.close();
  });

  it('refuses a prefix that would make names ambiguous', async () => {
    for (const prefix of ['', 'up/', 'talk2me1', '.hidden-', 'x'.repeat(33)]) {
      await expect(TempFileRegistry.open({ dir: freshDir(), prefix })).rejects.toThrow(RangeError);
    }
  });
});

describe('ensureDirectory', () => {
  it('recreates a removed directory private, refuses what took its place, and recovers once it is gone', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    await registry.ensureDirectory(); // there: nothing to do
    await rm(dir, { recursive: true });
    await registry.ensureDirectory();
    const info = await lstat(dir);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);

    await rm(dir, { recursive: true });
    await writeFile(dir, 'a file in its place');
    await expectCode(registry.ensureDirectory(), 'TEMP_DIR_UNSAFE');
    await rm(dir);
    await symlink(root.path, dir);
    await expectCode(registry.ensureDirectory(), 'TEMP_DIR_UNSAFE');
    await rm(dir);
    await registry.ensureDirectory();
    expect((await lstat(dir)).isDirectory()).toBe(true);
    expect(await registry.freeBytes()).toBeGreaterThan(0);
  });
});

describe('createPath', () => {
  it('names a fresh path <prefix><pid>-<16 hex>[.ext] directly inside the directory, and tracks it', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const path = registry.createPath({ ext: 'webm', owner: 's1' });
    expect(dirname(path)).toBe(dir);
    expect(basename(path)).toMatch(new RegExp(`^talk2me-${process.pid}-[0-9a-f]{16}\\.webm$`));
    expect(registry.has(path)).toBe(true);
    expect(registry.stats()).toMatchObject({ count: 1, bytes: 0, owners: 1 });
    expect(existsSync(path)).toBe(false); // the caller creates the file
  });

  it('takes only a clean extension from the hint', async () => {
    await using registry = await TempFileRegistry.open({ dir: freshDir() });
    const extOf = (ext: string | undefined): string => basename(registry.createPath({ ext })).replace(/^talk2me-\d+-[0-9a-f]{16}/, '');
    expect(extOf('WAV')).toBe('.wav');
    expect(extOf('.mp3')).toBe('.mp3');
    expect(extOf('ogg')).toBe('.ogg');
    expect(extOf('../../etc/passwd')).toBe('');
    expect(extOf('tar.gz')).toBe('');
    expect(extOf('abcdefghi')).toBe(''); // 9 characters
    expect(extOf('we bm')).toBe('');
    expect(extOf('')).toBe('');
    expect(extOf(undefined)).toBe('');
  });

  it('never hands out the same path twice', async () => {
    await using registry = await TempFileRegistry.open({ dir: freshDir() });
    const paths = new Set(Array.from({ length: 2000 }, () => registry.createPath()));
    expect(paths.size).toBe(2000);
    expect(registry.stats().count).toBe(2000);
  });

  it('uses a custom prefix', async () => {
    await using registry = await TempFileRegistry.open({ dir: freshDir(), prefix: 'up_' });
    expect(basename(registry.createPath())).toMatch(new RegExp(`^up_${process.pid}-[0-9a-f]{16}$`));
  });

  it('is refused once the registry is closed', async () => {
    const registry = await TempFileRegistry.open({ dir: freshDir() });
    await registry.close();
    expectThrowsCode(() => registry.createPath(), 'TEMP_REGISTRY_CLOSED');
  });
});

describe('register, remove', () => {
  it('registers a file of our scheme with its size', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const path = join(dir, nameFor(process.pid));
    await writeFile(path, Buffer.alloc(4321));
    expect(registry.register(path, { owner: 's1' })).toBe(path);
    expect(registry.stats()).toMatchObject({ count: 1, bytes: 4321, owners: 1 });
    // Registering again keeps the entry; another owner is refused.
    registry.register(path, { owner: 's1' });
    expect(registry.stats().count).toBe(1);
    expectThrowsCode(() => registry.register(path, { owner: 's2' }), 'TEMP_PATH_REFUSED');
  });

  it('refuses paths it may not own, and tracks none of them', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const outside = join(dirname(dir), nameFor(process.pid));
    await writeFile(outside, 'outside');
    await mkdir(join(dir, 'sub'));
    const target = join(dirname(dir), 'target.txt');
    await writeFile(target, 'target');
    const link = join(dir, nameFor(process.pid));
    await symlink(target, link);
    const directory = join(dir, nameFor(process.pid));
    await mkdir(directory);
    const refusedPaths = [
      outside, // outside the directory
      join(dir, 'sub', nameFor(process.pid)), // below it
      join(dir, '..', basename(outside)), // outside through ..
      join(dir, 'upload.wav'), // not our prefix
      join(dir, nameFor(process.ppid)), // another (live) process's
      join(dir, `talk2me-${process.pid}-XYZ.wav`), // malformed
      link, // a symlink
      directory, // not a regular file
    ];
    for (const path of refusedPaths) expectThrowsCode(() => registry.register(path), 'TEMP_PATH_REFUSED');
    expect(registry.stats().count).toBe(0);
  });

  it('remove unlinks and untracks, and is quiet about a file that is not there', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const path = registry.createPath({ owner: 's1' });
    await writeFile(path, 'data');
    expect(await registry.remove(path)).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(registry.has(path)).toBe(false);
    expect(registry.stats().owners).toBe(0);
    expect(await registry.remove(path)).toBe(false);
    const neverWritten = registry.createPath();
    expect(await registry.remove(neverWritten)).toBe(false);
    expect(registry.stats().count).toBe(0);
  });

  it('remove refuses a path that is not ours and leaves it', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const foreign = [join(dir, 'notes.txt'), join(dir, nameFor(process.ppid)), join(dirname(dir), nameFor(process.pid))];
    for (const path of foreign) {
      await writeFile(path, 'not yours');
      await expectCode(registry.remove(path), 'TEMP_PATH_REFUSED');
      expect(existsSync(path)).toBe(true);
    }
  });
});

describe('sweep', () => {
  it('removes the files registered at least maxAgeMs ago, oldest first, with their sizes', async () => {
    const clock = manualClock();
    const logger = recordingLogger();
    await using registry = await TempFileRegistry.open({ dir: freshDir(), now: clock.now, logger });
    const a = registry.createPath({ ext: 'wav' });
    await writeFile(a, Buffer.alloc(100));
    registry.setSize(a, 100);
    clock.advance(500);
    const b = registry.createPath({ ext: 'wav' });
    await writeFile(b, Buffer.alloc(250)); // size not told: learned when removed
    expect(registry.stats()).toEqual({ count: 2, bytes: 100, oldestAgeMs: 500, owners: 0 });

    clock.advance(400); // a is 900 ms old
    expect(await registry.sweep(1000)).toMatchObject({ removed: 0, bytes: 0, failed: 0 });
    expect(existsSync(a)).toBe(true);

    clock.advance(100); // a is 1000 ms old
    expect(await registry.sweep(1000)).toMatchObject({ removed: 1, bytes: 100, failed: 0 });
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(true);
    expect(registry.stats()).toEqual({ count: 1, bytes: 0, oldestAgeMs: 500, owners: 0 });

    clock.advance(499);
    expect((await registry.sweep(1000)).removed).toBe(0);
    clock.advance(1);
    expect(await registry.sweep(1000)).toMatchObject({ removed: 1, bytes: 250 });
    expect(existsSync(b)).toBe(false);
    expect(registry.stats()).toEqual({ count: 0, bytes: 0, oldestAgeMs: null, owners: 0 });
    expect(logger.records.filter((r) => r.msg === 'swept temporary files')).toHaveLength(2);
  });

  it('keeps exact order when many entries leave from the middle', async () => {
    const clock = manualClock(0);
    await using registry = await TempFileRegistry.open({ dir: freshDir(), now: clock.now });
    const paths: string[] = [];
    for (let i = 0; i < 5000; i++) {
      paths.push(registry.createPath());
      clock.advance(1);
    }
    // Every third leaves early.
    for (let i = 0; i < 5000; i += 3) await registry.remove(paths[i] as string);
    const tracked = (): number[] => paths.flatMap((p, i) => (registry.has(p) ? [i] : []));
    expect(tracked()).toHaveLength(5000 - 1667);
    // now = 5000; entry i is 5000 - i ms old: sweeping 2600 ms removes i <= 2400.
    await registry.sweep(2600);
    expect(tracked()).toEqual(Array.from({ length: 5000 }, (_, i) => i).filter((i) => i % 3 !== 0 && i > 2400));
    expect(registry.stats().oldestAgeMs).toBe(5000 - 2401); // 2401 is the first survivor (2400 left early)
    await registry.sweep(1);
    expect(tracked()).toEqual([]);
    expect(registry.stats().oldestAgeMs).toBeNull();
  });

  it('unlinks a symlink that took a registered name, never its target', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const target = join(dirname(dir), 'precious.txt');
    await writeFile(target, 'precious');
    const path = registry.createPath({ ext: 'wav' });
    await symlink(target, path);
    expect((await registry.sweep(0)).removed).toBe(1);
    await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(target, 'utf8')).toBe('precious');
  });

  it('keeps a file unlink refuses, reports it, and retries it only after another max age', async (ctx) => {
    const clock = manualClock();
    const logger = recordingLogger();
    await using registry = await TempFileRegistry.open({ dir: freshDir(), now: clock.now, logger });
    const path = registry.createPath({ ext: 'wav', owner: 's1' });
    await writeFile(path, Buffer.alloc(10));
    const restore = await makeUnremovable(path);
    if (!restore) return ctx.skip('cannot make unlink fail on this machine');
    try {
      clock.advance(1000);
      expect(await registry.sweep(1000)).toMatchObject({ removed: 0, failed: 1 });
      expect(existsSync(path)).toBe(true);
      expect(registry.has(path)).toBe(true);
      expect(registry.stats().owners).toBe(1);
      expect(registry.stats().oldestAgeMs).toBe(0); // queued again, as if registered now
      expect(logger.records.some((r) => r.level === 'warn' && r.msg?.includes('will retry'))).toBe(true);
      clock.advance(999);
      expect(await registry.sweep(1000)).toMatchObject({ removed: 0, failed: 0 }); // not retried at every sweep
      await expect(registry.remove(path)).rejects.toMatchObject({ code: expect.stringMatching(/^(EACCES|EPERM)$/) });
      expect(registry.has(path)).toBe(true);
    } finally {
      await restore();
    }
    clock.advance(1000);
    expect(await registry.sweep(1000)).toMatchObject({ removed: 1, failed: 0 });
    expect(existsSync(path)).toBe(false);
  });

  it('leaves a directory that took a registered name, and stops tracking it', async () => {
    const dir = freshDir();
    const logger = recordingLogger();
    await using registry = await TempFileRegistry.open({ dir, logger });
    const path = registry.createPath();
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'x');
    expect(await registry.sweep(0)).toMatchObject({ removed: 0, failed: 0 });
    expect(existsSync(join(path, 'inside'))).toBe(true);
    expect(registry.has(path)).toBe(false);
    expect(logger.records.some((r) => r.level === 'warn')).toBe(true);
  });

  it('overlapping sweeps share the due files without removing any twice', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir, removalConcurrency: 4 });
    for (let i = 0; i < 100; i++) await writeFile(registry.createPath(), 'x');
    const [first, second] = await Promise.all([registry.sweep(0), registry.sweep(0)]);
    expect((first?.removed ?? 0) + (second?.removed ?? 0)).toBe(100);
    expect(await entries(dir)).toEqual([]);
  });

  it('remove() during a sweep: every file goes once, both sides report success', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir, removalConcurrency: 2 });
    const paths: string[] = [];
    for (let i = 0; i < 40; i++) {
      const path = registry.createPath();
      await writeFile(path, Buffer.alloc(10));
      paths.push(path);
    }
    const sweeping = registry.sweep(0);
    // The sweep took all 40 synchronously but unlinks two at a time: most are still waiting.
    const removals = await Promise.all(paths.map((p) => registry.remove(p)));
    const swept = await sweeping;
    expect(removals.every((r) => r)).toBe(true); // started by remove(), or the sweep's unlink joined
    expect(swept.failed).toBe(0);
    expect(swept.removed).toBeLessThan(40); // the sweep skips what remove() already took
    expect(swept.bytes).toBe(swept.removed * 10);
    expect(registry.stats().count).toBe(0);
    expect(await entries(dir)).toEqual([]);
  });

  it('rejects a negative or non-numeric age', async () => {
    await using registry = await TempFileRegistry.open({ dir: freshDir() });
    await expect(registry.sweep(-1)).rejects.toThrow(RangeError);
    await expect(registry.sweep(Number.NaN)).rejects.toThrow(RangeError);
  });
});

describe('the arrival queue behind sweep', () => {
  it('holds memory for the live items only, however many leave from the middle', () => {
    // Weeks of traffic behind one file that never goes (an upload that hangs): every other
    // registration leaves early, so the head never moves and only compaction can free the slots.
    const live = new Set<number>();
    const queue = new ArrivalQueue<number>((n) => live.has(n));
    live.add(0);
    queue.push(0);
    for (let n = 1; n <= 200_000; n++) {
      live.add(n);
      queue.push(n);
      if (n % 100 !== 0) {
        live.delete(n);
        queue.markStale();
      }
    }
    expect(live.size).toBe(2001);
    expect(queue.slots).toBeLessThanOrEqual(2 * live.size + 64);
    expect(queue.peek()).toBe(0);
    expect(queue.shiftWhile((n) => n < 1000)).toEqual(Array.from({ length: 10 }, (_, i) => i * 100));
    expect(queue.drain()).toHaveLength(1991);
    expect(queue.slots).toBe(0);
  });
});

describe('sizes and owners', () => {
  it('counts bytes as files grow and leave, and owners while they have files', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    const a1 = registry.createPath({ owner: 'a' });
    const a2 = registry.createPath({ owner: 'a' });
    const b1 = registry.createPath({ owner: 'b' });
    for (const path of [a1, a2, b1]) await writeFile(path, 'x');
    registry.setSize(a1, 1000);
    registry.setSize(a2, 24);
    registry.setSize(b1, 7);
    registry.setSize(a1, 1500); // grows as an upload streams in
    expect(registry.stats()).toMatchObject({ count: 3, bytes: 1531, owners: 2 });

    for (const path of [a1, a2]) expect(await registry.remove(path)).toBe(true);
    expect(existsSync(a1) || existsSync(a2)).toBe(false);
    expect(existsSync(b1)).toBe(true);
    expect(registry.stats()).toMatchObject({ count: 1, bytes: 7, owners: 1 });
    expectThrowsCode(() => registry.setSize(a1, 1), 'TEMP_PATH_REFUSED');
    expect(() => registry.setSize(b1, -1)).toThrow(RangeError);
  });

  it('removeAll and close remove every tracked file and nothing else', async () => {
    const dir = freshDir();
    const registry = await TempFileRegistry.open({ dir });
    for (let i = 0; i < 20; i++) await writeFile(registry.createPath({ ext: 'wav' }), 'x');
    const kept = join(dir, nameFor(process.pid)); // ours by name, but never tracked
    await writeFile(kept, 'handed over');
    await writeFile(join(dir, 'notes.txt'), 'foreign');
    expect((await registry.removeAll()).removed).toBe(20);
    for (let i = 0; i < 5; i++) await writeFile(registry.createPath(), 'x');
    const closed = await registry.close();
    expect(closed.removed).toBe(5);
    expect(await registry.close()).toBe(closed); // idempotent
    expect(await entries(dir)).toEqual([basename(kept), 'notes.txt'].sort());
  });

  it('removeAllSync removes every tracked file at once', async () => {
    const dir = freshDir();
    await using registry = await TempFileRegistry.open({ dir });
    for (let i = 0; i < 10; i++) await writeFile(registry.createPath(), Buffer.alloc(10));
    expect(registry.removeAllSync()).toMatchObject({ removed: 10, bytes: 100, failed: 0 });
    expect(await entries(dir)).toEqual([]);
    expect(registry.stats().count).toBe(0);
  });
});

describe('start-up sweep', () => {
  it('removes the files of processes that are gone and nothing else', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const gone = deadPid();
    const target = join(dirname(dir), 'outside-target.txt');
    await writeFile(target, 'must survive');
    const dead = [nameFor(gone, '.wav'), nameFor(gone, ''), nameFor(gone, '.webm')];
    for (const name of dead) await writeFile(join(dir, name), Buffer.alloc(100));
    const deadLink = nameFor(gone, '.ogg');
    await symlink(target, join(dir, deadLink));
    const foreign = [
      'notes.txt',
      nameFor(gone, '.wav', 'other-'), // another prefix
      nameFor(process.ppid), // a live process (vitest's main process)
      nameFor(1), // init: always alive
      `talk2me-${gone}-0123456789ABCDEF.wav`, // upper-case hex: not our scheme
      `talk2me-${gone}-0123456789abcdef.wav.part`,
      `talk2me-0${gone}-0123456789abcdef.wav`,
      `talk2me-${gone}-0123456789abcde.wav`,
      `talk2me--${gone}-0123456789abcdef.wav`,
    ];
    for (const name of foreign) await writeFile(join(dir, name), 'foreign');
    const deadDirectory = nameFor(gone, '.bin');
    await mkdir(join(dir, deadDirectory));

    const registry = await TempFileRegistry.open({ dir });
    expect(registry.startupSweep).toMatchObject({ removed: 4, bytes: 300, failed: 0, keptLive: 2 });
    expect(await entries(dir)).toEqual([...foreign, deadDirectory].sort());
    expect(await readFile(target, 'utf8')).toBe('must survive');
    await registry.close();
  });

  it('removes files of its own pid that an earlier registry left (a reused pid)', async () => {
    const dir = freshDir();
    const first = await TempFileRegistry.open({ dir });
    const left = first.createPath();
    await first.close();
    await writeFile(left, 'left behind'); // written after the registry stopped tracking it
    expect(existsSync(left)).toBe(true);
    await using second = await TempFileRegistry.open({ dir });
    expect(second.startupSweep.removed).toBe(1);
    expect(existsSync(left)).toBe(false);
  });

  it('after a SIGKILL, the next registry removes exactly the killed process files', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const foreign = ['notes.txt', nameFor(1), nameFor(process.ppid)];
    for (const name of foreign) await writeFile(join(dir, name), 'foreign');
    const child = startRegistryChild(dir, 'hold');
    const ready = await child.ready;
    expect(ready.startupSweep.keptLive).toBe(2);
    child.process.kill('SIGKILL');
    const end = await child.ended;
    expect(end.signal).toBe('SIGKILL');
    // Nothing ran in the child: its files are still there.
    expect(await entries(dir)).toEqual([...foreign, ...ready.paths.map((p) => basename(p))].sort());

    await using registry = await TempFileRegistry.open({ dir });
    expect(registry.startupSweep).toMatchObject({ removed: 3, bytes: 3000, keptLive: 2 });
    expect(await entries(dir)).toEqual([...foreign].sort());
  });
});
