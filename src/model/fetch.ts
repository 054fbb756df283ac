/**
 * Downloads whisper.cpp ggml models (`ggml-NAME.bin`) from Hugging Face or a mirror.
 *
 * The download streams into a temporary file in the target directory
 * (`.ggml-NAME.bin.<pid>.<random>.part`) while it is hashed; only a complete, size-checked and
 * (where a checksum is known) verified file is fsynced and renamed over `ggml-NAME.bin`. Any failure
 * removes the temporary file, and an existing file at the destination is never touched unless a
 * good replacement is ready.
 *
 * Uses Node's built-in fetch (undici), which follows redirects (Hugging Face answers with a
 * redirect to its CDN).
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { invalidValue, Talk2meError } from '../shared/errors.js';
import { KNOWN_MODELS_REVISION, knownModelNames, lookupKnownModel } from './known-models.js';

export const DEFAULT_MODEL_BASE_URL = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';
export const MODEL_BASE_URL_ENV = 'TALK2ME_MODEL_BASE_URL';
export const DEFAULT_MODEL_DIR = 'models';

export type ModelFetchErrorCode =
  | 'UNKNOWN_MODEL'
  | 'HTTP_ERROR'
  | 'CHECKSUM_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'NETWORK_ERROR'
  | 'ABORTED'
  | 'IO_ERROR';

export class ModelFetchError extends Talk2meError<ModelFetchErrorCode> {
  /** The HTTP status, for HTTP_ERROR. */
  readonly status: number | undefined;

  constructor(code: ModelFetchErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
}

export interface FetchProgress {
  /** Bytes received so far. */
  received: number;
  /** Expected total bytes (Content-Length, else the known size), or null when unknown. */
  total: number | null;
}

export interface FetchModelOptions {
  /** Directory to store the model in; created if missing. Default 'models'. */
  dir?: string;
  /** Base URL; the file URL is `${baseUrl}/ggml-${name}.bin`. Default: $TALK2ME_MODEL_BASE_URL, else Hugging Face. */
  baseUrl?: string;
  signal?: AbortSignal;
  /** Called with 0 once the response arrives, then after every chunk written. */
  onProgress?: (p: FetchProgress) => void;
  /** Expected SHA-256 (hex). Overrides the known-models table for this download. */
  expectedSha256?: string;
  /** Download even when a matching file is already at the destination. */
  force?: boolean;
}

export interface FetchModelResult {
  /** Absolute path of `ggml-NAME.bin`. */
  path: string;
  bytes: number;
  /** Lower-case hex SHA-256 of the file. */
  sha256: string;
  /** True when the file's SHA-256 was compared with an expected value and matched. */
  verified: boolean;
  /** True when an existing file was kept and nothing was downloaded. */
  skipped?: boolean;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_NAME_LENGTH = 128;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** Whether `name` is acceptable as a model name (it can never escape the target directory). */
export function isValidModelName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= MAX_NAME_LENGTH &&
    NAME_PATTERN.test(name) &&
    !name.includes('..')
  );
}

/** Throws UNKNOWN_MODEL unless `name` is a valid model name. */
export function validateModelName(name: string): void {
  if (isValidModelName(name)) return;
  const shown = JSON.stringify(typeof name === 'string' ? name.slice(0, MAX_NAME_LENGTH + 8) : String(name));
  throw new ModelFetchError(
    'UNKNOWN_MODEL',
    `Invalid model name ${shown}: use up to ${MAX_NAME_LENGTH} letters, digits, '.', '_' or '-', ` +
      `starting with a letter or digit, with no path separators and no "..", for example "base.en", "large-v3-turbo" or "tiny.en-q5_1".`,
  );
}

/** `ggml-NAME.bin` */
export function modelFileName(name: string): string {
  return `ggml-${name}.bin`;
}

/**
 * The base URL to use: the explicit option, else $TALK2ME_MODEL_BASE_URL, else Hugging Face.
 * Trailing slashes are dropped. Throws TypeError for anything but an http(s) URL.
 */
export function resolveModelBaseUrl(baseUrl?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[MODEL_BASE_URL_ENV]?.trim();
  const chosen = baseUrl?.trim() || fromEnv || DEFAULT_MODEL_BASE_URL;
  const origin = baseUrl?.trim() ? 'the base URL option' : fromEnv ? MODEL_BASE_URL_ENV : 'the default base URL';
  let parsed: URL;
  try {
    parsed = new URL(chosen);
  } catch {
    throw new TypeError(`Invalid model base URL ${JSON.stringify(chosen)} (from ${origin}): expected an http:// or https:// URL.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`Invalid model base URL ${JSON.stringify(chosen)} (from ${origin}): only http:// and https:// are supported.`);
  }
  return chosen.replace(/\/+$/, '');
}

/** The download URL of model `name` under `baseUrl` (after resolution). */
export function modelUrl(name: string, baseUrl?: string): string {
  validateModelName(name);
  return `${resolveModelBaseUrl(baseUrl)}/${modelFileName(name)}`;
}

function normaliseSha256(value: string): string {
  const v = value.trim().toLowerCase();
  if (!SHA256_PATTERN.test(v)) {
    throw new TypeError(invalidValue('expectedSha256', '64 hexadecimal characters', value));
  }
  return v;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error && cause.message && !err.message.includes(cause.message)) {
    return `${err.message}: ${cause.message}`;
  }
  return err.message;
}

function abortedError(file: string, cause?: unknown): ModelFetchError {
  return new ModelFetchError(
    'ABORTED',
    `Download of ${file} was cancelled; the partial download was discarded.`,
    { cause },
  );
}

/** SHA-256 and size of an existing file. */
async function hashFile(file: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = createReadStream(file, signal ? { signal } : {});
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function removeQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch {
    // Already gone, or never created.
  }
}

/** Best-effort fsync of a directory so a rename in it survives a crash (no-op where unsupported). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some filesystems cannot fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset, null);
    offset += bytesWritten;
  }
}

/**
 * Downloads `ggml-NAME.bin` into `options.dir` (default 'models') and returns where it is.
 *
 * - NAME must be [A-Za-z0-9._-], start with a letter or digit and hold no ".." (else UNKNOWN_MODEL). Names missing from the
 *   known-models table are allowed and come back with `verified: false` unless `expectedSha256` is given.
 * - When the destination already exists it is kept (`skipped: true`) if its checksum matches the
 *   expected one, or if no checksum is known; pass `force` to download anyway. A file that does not
 *   match is replaced only after a good download.
 * - Failures throw ModelFetchError and leave nothing behind in the directory.
 */
export async function fetchModel(name: string, options: FetchModelOptions = {}): Promise<FetchModelResult> {
  validateModelName(name);
  const fileName = modelFileName(name);
  const baseUrl = resolveModelBaseUrl(options.baseUrl);
  const url = `${baseUrl}/${fileName}`;
  const dir = path.resolve(options.dir ?? DEFAULT_MODEL_DIR);
  const dest = path.join(dir, fileName);
  const { signal } = options;

  const known = lookupKnownModel(name);
  const override = options.expectedSha256 === undefined ? undefined : normaliseSha256(options.expectedSha256);
  const expectedSha256 = override ?? known?.sha256;
  // The table's size describes the table's file; an explicit checksum for some other file drops it.
  const expectedSize = known !== undefined && (override === undefined || override === known.sha256) ? known.size : undefined;

  if (signal?.aborted) throw abortedError(fileName, signal.reason);

  // 1. An existing file at the destination.
  let existing: Stats | undefined;
  try {
    existing = await stat(dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ModelFetchError('IO_ERROR', `Cannot inspect ${dest}: ${describe(err)}.`, { cause: err });
    }
  }
  if (existing !== undefined && !existing.isFile()) {
    throw new ModelFetchError(
      'IO_ERROR',
      `${dest} exists and is not a regular file; move it out of the way and run the command again.`,
    );
  }
  if (existing !== undefined && !options.force) {
    const sizeFits = expectedSize === undefined || existing.size === expectedSize;
    if (sizeFits) {
      let current: { sha256: string; bytes: number };
      try {
        current = await hashFile(dest, signal);
      } catch (err) {
        if (signal?.aborted) throw abortedError(fileName, signal.reason);
        throw new ModelFetchError('IO_ERROR', `Cannot read ${dest}: ${describe(err)}.`, { cause: err });
      }
      if (expectedSha256 === undefined) {
        return { path: dest, bytes: current.bytes, sha256: current.sha256, verified: false, skipped: true };
      }
      if (current.sha256 === expectedSha256) {
        return { path: dest, bytes: current.bytes, sha256: current.sha256, verified: true, skipped: true };
      }
    }
    // Otherwise the existing file is wrong or stale: download a replacement (it stays until then).
  }

  // 2. The target directory and the temporary file.
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new ModelFetchError('IO_ERROR', `Cannot create the model directory ${dir}: ${describe(err)}.`, { cause: err });
  }
  const tmp = path.join(dir, `.${fileName}.${process.pid}.${randomBytes(6).toString('hex')}.part`);

  let handle: FileHandle | undefined;
  let response: Response | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let received = 0;
  try {
    // 3. The request. Ask for the identity encoding so Content-Length is the file's own size.
    try {
      response = await fetch(url, {
        redirect: 'follow',
        headers: { 'accept-encoding': 'identity', 'user-agent': 'talk2me-model-fetch' },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw abortedError(fileName, err);
      throw new ModelFetchError(
        'NETWORK_ERROR',
        `Could not download ${fileName} from ${url}: ${describe(err)}. ` +
          `Check the network connection, or set ${MODEL_BASE_URL_ENV} to a reachable mirror, and run the command again.`,
        { cause: err },
      );
    }

    if (!response.ok) {
      const statusText = response.statusText ? ` ${response.statusText}` : '';
      const hint =
        response.status === 404
          ? known === undefined
            ? ` "${name}" is not a model this server has; known models are: ${knownModelNames().join(', ')}.`
            : ` The server does not have this file; check the base URL (${baseUrl}).`
          : response.status >= 500 || response.status === 429
            ? ` The server is having trouble; try again later, or use a mirror via ${MODEL_BASE_URL_ENV}.`
            : ` Check the base URL (${baseUrl}) and try again.`;
      throw new ModelFetchError(
        'HTTP_ERROR',
        `Download of ${fileName} failed: HTTP ${response.status}${statusText} from ${url}.${hint}`,
        { status: response.status },
      );
    }
    if (response.body === null) {
      throw new ModelFetchError('NETWORK_ERROR', `Download of ${fileName} from ${url} returned no body; run the command again.`);
    }

    // 4. Sizes known up front.
    const encoding = response.headers.get('content-encoding');
    const lengthHeader = response.headers.get('content-length');
    const contentLength =
      (encoding === null || encoding === 'identity') && lengthHeader !== null && /^\d+$/.test(lengthHeader.trim())
        ? Number(lengthHeader.trim())
        : undefined;
    if (contentLength !== undefined && expectedSize !== undefined && contentLength !== expectedSize) {
      throw new ModelFetchError(
        'SIZE_MISMATCH',
        `Size mismatch for ${fileName}: the server announced ${contentLength} bytes but the published file ` +
          `(Hugging Face revision ${KNOWN_MODELS_REVISION.slice(0, 12)}) is ${expectedSize} bytes; nothing was saved. ` +
          `If the mirror serves a different build on purpose, pass its SHA-256 explicitly (talk2me model fetch --sha256 HEX).`,
      );
    }
    const total = contentLength ?? expectedSize ?? null;

    try {
      handle = await open(tmp, 'wx');
    } catch (err) {
      throw new ModelFetchError('IO_ERROR', `Cannot write to ${dir}: ${describe(err)}.`, { cause: err });
    }

    // 5. Stream, hash, write.
    const hash = createHash('sha256');
    reader = response.body.getReader();
    const limit = contentLength ?? expectedSize;
    options.onProgress?.({ received: 0, total });
    for (;;) {
      let next: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
      try {
        next = await reader.read();
      } catch (err) {
        if (signal?.aborted) throw abortedError(fileName, err);
        throw new ModelFetchError(
          'NETWORK_ERROR',
          `Connection lost while downloading ${fileName} from ${url} after ${received} bytes` +
            `${total === null ? '' : ` of ${total}`}: ${describe(err)}; the partial download was discarded. Run the command again.`,
          { cause: err },
        );
      }
      if (next.done) break;
      if (signal?.aborted) throw abortedError(fileName, signal.reason);
      const chunk = next.value;
      received += chunk.byteLength;
      if (limit !== undefined && received > limit) {
        throw new ModelFetchError(
          'SIZE_MISMATCH',
          `Size mismatch for ${fileName}: received more than the expected ${limit} bytes; the download was discarded.`,
        );
      }
      hash.update(chunk);
      try {
        await writeAll(handle, chunk);
      } catch (err) {
        throw new ModelFetchError('IO_ERROR', `Cannot write to ${tmp}: ${describe(err)} (is the disk full?).`, { cause: err });
      }
      options.onProgress?.({ received, total });
    }
    reader = undefined;
    if (signal?.aborted) throw abortedError(fileName, signal.reason);

    // 6. Checks on the complete file.
    if (contentLength !== undefined && received !== contentLength) {
      throw new ModelFetchError(
        'SIZE_MISMATCH',
        `Size mismatch for ${fileName}: the server announced ${contentLength} bytes but sent ${received}; ` +
          `the download was discarded. Run the command again.`,
      );
    }
    if (expectedSize !== undefined && received !== expectedSize) {
      throw new ModelFetchError(
        'SIZE_MISMATCH',
        `Size mismatch for ${fileName}: expected ${expectedSize} bytes, got ${received}; the download was discarded. Run the command again.`,
      );
    }
    const sha256 = hash.digest('hex');
    if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
      const upstreamNote =
        override === undefined
          ? ` If the upstream file was updated after revision ${KNOWN_MODELS_REVISION.slice(0, 12)}, pass its new SHA-256 explicitly (talk2me model fetch --sha256 HEX).`
          : '';
      throw new ModelFetchError(
        'CHECKSUM_MISMATCH',
        `Checksum mismatch for ${fileName}: expected ${expectedSha256}, got ${sha256}; the download was discarded. ` +
          `Run the command again; if it keeps failing the server or mirror is serving a different file.${upstreamNote}`,
      );
    }

    // 7. Make it durable, then put it in place atomically.
    try {
      await handle.sync();
      await handle.close();
      handle = undefined;
      if (signal?.aborted) throw abortedError(fileName, signal.reason);
      await rename(tmp, dest);
    } catch (err) {
      if (err instanceof ModelFetchError) throw err;
      throw new ModelFetchError('IO_ERROR', `Cannot save ${dest}: ${describe(err)}.`, { cause: err });
    }
    await syncDirectory(dir);

    return { path: dest, bytes: received, sha256, verified: expectedSha256 !== undefined, skipped: false };
  } catch (err) {
    if (handle !== undefined) {
      await handle.close().catch(() => undefined);
      handle = undefined;
    }
    await removeQuietly(tmp);
    // Release the connection when we stopped reading early (size mismatch, HTTP error, abort, …).
    if (reader !== undefined) {
      await reader.cancel().catch(() => undefined);
    } else if (response?.body && !response.body.locked) {
      await response.body.cancel().catch(() => undefined);
    }
    throw err;
  }
}
