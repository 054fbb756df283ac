import { Talk2meError } from '../../shared/errors.js';

/**
 * Why the temporary-file registry refused a call, as a code callers can branch on:
 * - TEMP_DIR_UNSAFE: the upload directory is not a real directory owned by this user (a symlink,
 *   another file type, another owner), so files in it could be read or swapped by someone else.
 * - TEMP_DIR_IN_USE: another registry in this process already owns the directory; two would each
 *   take the other's files for a dead predecessor's.
 * - TEMP_PATH_REFUSED: the path is not one this registry may own (outside the directory, not named
 *   with this process's prefix and pid, a symlink or not a regular file).
 * - TEMP_REGISTRY_CLOSED: the registry was closed.
 * - TEMP_CONTEXT_DISPOSED: an AudioProcessingContext was used after it was disposed.
 */
export type TempFileErrorCode =
  | 'TEMP_DIR_UNSAFE'
  | 'TEMP_DIR_IN_USE'
  | 'TEMP_PATH_REFUSED'
  | 'TEMP_REGISTRY_CLOSED'
  | 'TEMP_CONTEXT_DISPOSED';

export class TempFileError extends Talk2meError<TempFileErrorCode> {}
