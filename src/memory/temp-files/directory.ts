// The upload directory: created private (0700) if missing, and refused if it is anything else than
// a real directory of this user. The default lives in the shared system temp dir, where another
// local user could have created the name first, as a symlink or a directory they can read.
import { chmod, lstat, mkdir, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';

import type { Logger } from '../../shared/logger.js';
import { TempFileError } from './errors.js';
import { invalidValue } from '../../shared/errors.js';

export interface TempDirectory {
  /** Absolute, as configured: the paths the registry hands out start with it. */
  path: string;
  /** The same with symlinks in its parents resolved, also accepted for register(). */
  realPath: string;
}

export async function prepareTempDirectory(dir: string, logger: Logger): Promise<TempDirectory> {
  if (typeof dir !== 'string' || dir.trim() === '') {
    throw new TypeError(invalidValue('the temp file dir', 'a directory path', dir));
  }
  const path = resolve(dir);
  // mode applies to every directory recursive mkdir creates; the umask can only remove bits.
  await mkdir(path, { recursive: true, mode: 0o700 });
  const info = await lstat(path);
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new TempFileError('TEMP_DIR_UNSAFE', `Expected a directory for the temp file dir but ${path} is ${info.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new TempFileError('TEMP_DIR_UNSAFE', `Expected the temp file dir ${path} to belong to uid ${uid} but it belongs to uid ${info.uid}`);
  }
  if ((info.mode & 0o077) !== 0) {
    // Ours, but others may read uploads in it or plant names: tighten it.
    await chmod(path, 0o700);
    logger.warn({ dir: path, mode: (info.mode & 0o777).toString(8) }, 'temp file dir was open to other users; set to 0700');
  }
  return { path, realPath: await realpath(path) };
}
