// Makes unlink(2) of a real file fail, the way a sick disk or a permission mistake would, so the
// failure paths run against the real file system: as a normal user by taking write permission off
// the directory (EACCES); as root, which ignores permissions, with the immutable attribute (EPERM).
import { execFile } from 'node:child_process';
import { chmod, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Returns the function that makes the file removable again, or undefined where neither way works here. */
export async function makeUnremovable(path: string): Promise<(() => Promise<void>) | undefined> {
  if (process.getuid?.() !== 0) {
    const dir = dirname(path);
    await chmod(dir, 0o500);
    return () => chmod(dir, 0o700);
  }
  try {
    await run('chattr', ['+i', path]);
  } catch {
    return undefined; // no chattr, or a file system without the attribute (tmpfs on older kernels)
  }
  // Check it took: a file system may accept the call and ignore it.
  const undo = async (): Promise<void> => void (await run('chattr', ['-i', path]));
  try {
    await unlink(path);
  } catch {
    return undo;
  }
  return undefined;
}
