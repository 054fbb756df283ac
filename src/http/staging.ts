// Whether an upload may be staged in UPLOAD_DIR now: the directory is there (recreated if it
// vanished) and its file system keeps UPLOAD_MIN_FREE_MB free. Checked before a byte is written,
// so a full disk or a broken directory answers 507 / 503 with Retry-After, never a 500 halfway
// through a write; the bytes staged at once are bounded by the session manager's budget.
import type { Services } from './services.js';
import { HttpError, STORAGE_RETRY_AFTER_S } from './errors.js';

export function uploadDirUnavailable(cause: unknown): HttpError {
  return new HttpError(503, 'UPLOAD_DIR_UNAVAILABLE', 'The server cannot stage uploads right now; retry later', { 'retry-after': String(STORAGE_RETRY_AFTER_S) }, { cause });
}

export function insufficientStorage(cause?: unknown): HttpError {
  return new HttpError(507, 'INSUFFICIENT_STORAGE', 'The server is short of disk space for uploads; retry later', { 'retry-after': String(STORAGE_RETRY_AFTER_S) }, { cause });
}

/** What stops staging now, as the error a request would get; null when an upload may be staged. */
export async function stagingProblem(services: Services): Promise<HttpError | null> {
  try {
    await services.files.ensureDirectory();
  } catch (err) {
    return uploadDirUnavailable(err);
  }
  let free: number;
  try {
    free = await services.files.freeBytes();
  } catch (err) {
    return uploadDirUnavailable(err);
  }
  if (free < services.config.memory.uploadMinFreeMb * 1024 * 1024) return insufficientStorage();
  return null;
}
