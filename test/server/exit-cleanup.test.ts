// Exit cleanup: a real registry in a child process, ended by signals, a normal exit and fatal
// errors; the files it tracked are gone afterwards and nothing else is touched.
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../helpers/temp-dir.js';
import { loggedLines, startRegistryChild } from '../memory/helpers/registry-child-process.js';
import { nameFor } from '../memory/helpers/temp-names.js';

let root: { path: string; remove: () => Promise<void> };
let cases = 0;

beforeAll(async () => {
  root = await tempDir('exit-cleanup');
});

afterAll(async () => {
  await root.remove();
});

/** A directory path of its own for each test (not created: the registry creates it). */
function freshDir(): string {
  return join(root.path, `case-${++cases}`, 'uploads');
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('exit cleanup, in child processes', () => {
  // Files the child must leave alone: not our prefix, and ours but of a live process (this one).
  async function plantForeign(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = ['notes.txt', nameFor(process.pid)];
    for (const name of names) await writeFile(join(dir, name), 'foreign');
    return names.sort();
  }

  it.each(['SIGINT', 'SIGTERM'] as const)('%s: files removed, then the process ends by the signal', async (signal) => {
    const dir = freshDir();
    const foreign = await plantForeign(dir);
    const child = startRegistryChild(dir, 'hold');
    const ready = await child.ready;
    expect(ready.paths.every((p) => existsSync(p))).toBe(true);
    child.process.kill(signal);
    const end = await child.ended;
    expect(end.signal).toBe(signal);
    expect(await entries(dir)).toEqual(foreign);
    expect(loggedLines(end.stderr).find((l) => l.msg === 'removed temporary files')).toMatchObject({ signal, result: { removed: 3, bytes: 3000 } });
  });

  it('normal exit: files removed synchronously, exit code 0', async () => {
    const dir = freshDir();
    const foreign = await plantForeign(dir);
    const child = startRegistryChild(dir, 'exit');
    await child.ready;
    const end = await child.ended;
    expect(end.code).toBe(0);
    expect(await entries(dir)).toEqual(foreign);
  });

  it.each([
    ['throw', 'boom from the child', 'uncaughtException'],
    ['reject', 'rejected in the child', 'unhandledRejection'],
  ] as const)('%s: files removed, error logged, exit code 1', async (mode, message, origin) => {
    const dir = freshDir();
    const foreign = await plantForeign(dir);
    const child = startRegistryChild(dir, mode);
    await child.ready;
    const end = await child.ended;
    expect(end.code).toBe(1);
    expect(await entries(dir)).toEqual(foreign);
    const fatal = loggedLines(end.stderr).find((l) => l.level === 'error');
    expect(fatal).toMatchObject({ err: message, origin, result: { removed: 3 } });
  });

  it('hand-over: the caller gets the signal with the files still there and ends the process itself', async () => {
    const dir = freshDir();
    const foreign = await plantForeign(dir);
    const child = startRegistryChild(dir, 'handoff');
    await child.ready;
    child.process.kill('SIGTERM');
    const end = await child.ended;
    expect(end.code).toBe(0);
    expect(end.signal).toBeNull();
    expect(end.stdout).toContain('HANDOFF {"signal":"SIGTERM","stillThere":true}');
    expect(await entries(dir)).toEqual(foreign);
  });

  it('hand-over that does not finish: a second signal removes the files and exits at once', async () => {
    const dir = freshDir();
    const foreign = await plantForeign(dir);
    const child = startRegistryChild(dir, 'stall');
    const ready = await child.ready;
    child.process.kill('SIGTERM');
    await child.printed(/^HANDOFF /m);
    expect(ready.paths.every((p) => existsSync(p))).toBe(true); // handed over: nothing removed yet
    child.process.kill('SIGINT');
    const end = await child.ended;
    expect(end.code).toBe(130);
    expect(await entries(dir)).toEqual(foreign);
    expect(loggedLines(end.stderr).find((l) => l.level === 'warn')).toMatchObject({ signal: 'SIGINT', result: { removed: 3 } });
  });
});
