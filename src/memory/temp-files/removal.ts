// Removing one temporary file without ever following a link: unlink(2) removes the directory entry
// itself, so a symlink planted under one of our names goes and its target stays. Directories are
// never removed (unlink refuses them; nothing here calls rmdir or rm -r).
import { lstatSync, unlinkSync } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';

export type RemovalOutcome =
  /** Unlinked now; `bytes` is the size it had (0 for a link). */
  | { kind: 'removed'; bytes: number }
  /** Nothing was there any more. */
  | { kind: 'absent' }
  /** Something that is not a file or link took the name (a directory): left alone. */
  | { kind: 'not-a-file' }
  /** unlink failed for another reason (EACCES, EIO, EBUSY, ...); worth another try later. */
  | { kind: 'failed'; error: NodeJS.ErrnoException };

function errno(err: unknown): NodeJS.ErrnoException {
  return err as NodeJS.ErrnoException;
}

/**
 * `knownBytes` is the size the caller already tracks; when it is undefined the entry is lstat'ed
 * first to learn it (the link itself, never its target).
 */
export async function removeFile(path: string, knownBytes?: number): Promise<RemovalOutcome> {
  let bytes = knownBytes;
  if (bytes === undefined) {
    try {
      const info = await lstat(path);
      if (info.isDirectory()) return { kind: 'not-a-file' };
      bytes = info.isFile() ? info.size : 0;
    } catch (err) {
      if (errno(err).code === 'ENOENT') return { kind: 'absent' };
      bytes = 0; // unlink below reports what is wrong
    }
  }
  try {
    await unlink(path);
    return { kind: 'removed', bytes };
  } catch (err) {
    return classifyFailure(errno(err), () => lstat(path).then((info) => info.isDirectory()));
  }
}

/** The same for a process's 'exit' event, where nothing asynchronous runs any more. */
export function removeFileSync(path: string, knownBytes?: number): RemovalOutcome {
  let bytes = knownBytes ?? 0;
  try {
    if (knownBytes === undefined) {
      const info = lstatSync(path);
      if (info.isDirectory()) return { kind: 'not-a-file' };
      bytes = info.isFile() ? info.size : 0;
    }
    unlinkSync(path);
    return { kind: 'removed', bytes };
  } catch (err) {
    const error = errno(err);
    if (error.code === 'ENOENT') return { kind: 'absent' };
    if (error.code === 'EISDIR' || error.code === 'EPERM') {
      try {
        if (lstatSync(path).isDirectory()) return { kind: 'not-a-file' };
      } catch {
        // fall through: report the unlink error
      }
    }
    return { kind: 'failed', error };
  }
}

async function classifyFailure(error: NodeJS.ErrnoException, isDirectory: () => Promise<boolean>): Promise<RemovalOutcome> {
  if (error.code === 'ENOENT') return { kind: 'absent' };
  // Linux answers EISDIR for a directory, macOS EPERM.
  if (error.code === 'EISDIR' || error.code === 'EPERM') {
    if (await isDirectory().catch(() => false)) return { kind: 'not-a-file' };
  }
  return { kind: 'failed', error };
}
