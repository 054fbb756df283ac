// Receives a multipart upload: exactly one file, streamed into a tracked temp file (never held in
// memory, never named after the client's filename), counted against the size limit and the
// session's temp-byte allowance as it arrives; the other fields come back as strings. A body that
// stops arriving is cut off after its own timeout, so a stalled client holds no staged bytes for long.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { FastifyRequest } from 'fastify';

import type { AudioProcessingContext } from '../memory/temp-files/index.js';
import type { TempReservation } from '../memory/sessions/index.js';
import { HttpError } from './errors.js';

export interface Upload {
  path: string;
  bytes: number;
  filename: string;
  mimetype: string;
  fields: Map<string, string[]>;
}

export interface UploadOptions {
  /** Accepted names of the file field, e.g. ['audio'] or ['file']. */
  fileFields: readonly string[];
  maxBytes: number;
  /** An upload that sends nothing for this long is cut off with 408. */
  stallTimeoutMs: number;
  ctx: AudioProcessingContext;
  reservation: TempReservation;
}

/** Counts bytes as they pass and stops the stream once the limit is crossed. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly reservation: TempReservation,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(uploadTooLarge(this.maxBytes));
      return;
    }
    try {
      this.reservation.grow(chunk.length);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, chunk);
  }
}

function uploadTooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'UPLOAD_TOO_LARGE', `The upload is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB`);
}

function clientWentAway(request: FastifyRequest): boolean {
  const raw = request.raw;
  return raw.readableAborted || (raw.destroyed && !raw.complete) || raw.socket.destroyed;
}

const extensionOf = (filename: string): string | undefined => /\.([A-Za-z0-9]{1,8})$/.exec(filename)?.[1]?.toLowerCase();

/** Throws 415 unless the request is a multipart form: checked before anything is counted or staged. */
export function assertMultipart(request: FastifyRequest, fileFields: readonly string[]): void {
  if (!request.isMultipart()) {
    throw new HttpError(415, 'UNSUPPORTED_CONTENT_TYPE', `Expected multipart/form-data with a file field "${fileFields[0]}"`);
  }
}

/**
 * Fails the form with 408 when the body sends nothing for `ms`. @fastify/multipart ends the form
 * with whatever error the request emits, which also ends the file part being written; the reply
 * then closes the connection, as the rest of the body will not be read.
 */
function watchForStall(request: FastifyRequest, ms: number): { stalled(): HttpError | undefined; stop(): void } {
  const raw = request.raw;
  let error: HttpError | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    raw.off('data', arm);
    raw.off('end', stop);
  };
  function arm(): void {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stop();
      error = new HttpError(408, 'UPLOAD_STALLED', `The upload sent nothing for ${ms / 1000} s`, { connection: 'close' });
      raw.emit('error', error);
    }, ms);
  }
  // Added once multipart has piped the request: a 'data' listener added before would start the flow early.
  raw.on('data', arm);
  raw.once('end', stop);
  if (!raw.complete) arm();
  return { stalled: () => error, stop };
}

export async function receiveUpload(request: FastifyRequest, options: UploadOptions): Promise<Upload> {
  assertMultipart(request, options.fileFields);
  // A client that hung up while its request waited (for a session slot, for the staging check) has
  // left a destroyed stream: one piped into the form parser now never ends nor fails, and the
  // request would hold its slots until the stall timeout.
  if (clientWentAway(request)) throw new HttpError(499, 'CLIENT_CLOSED', 'The client went away before its upload was read');
  const fields = new Map<string, string[]>();
  let upload: Omit<Upload, 'fields'> | undefined;
  const parts = request.parts();
  const stall = watchForStall(request, options.stallTimeoutMs);
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        const list = fields.get(part.fieldname) ?? [];
        list.push(typeof part.value === 'string' ? part.value : String(part.value));
        fields.set(part.fieldname, list);
        continue;
      }
      if (!options.fileFields.includes(part.fieldname)) {
        part.file.resume();
        throw new HttpError(400, 'UNEXPECTED_FILE', `Unexpected file field "${part.fieldname}"; send the audio as "${options.fileFields[0]}"`);
      }
      if (upload) {
        part.file.resume();
        throw new HttpError(400, 'TOO_MANY_FILES', 'Expected exactly one audio file');
      }
      const path = options.ctx.createTempPath(extensionOf(part.filename ?? ''));
      const limit = new ByteLimit(options.maxBytes, options.reservation);
      const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
      try {
        await pipeline(part.file, limit, out);
      } catch (err) {
        // The stream opens its file asynchronously: a part that fails at once would otherwise leave
        // the open to complete after the caller removed the path, and the file would outlive it.
        if (!out.closed) await once(out, 'close');
        throw err;
      }
      if (part.file.truncated) throw uploadTooLarge(options.maxBytes);
      upload = { path, bytes: limit.bytes, filename: part.filename ?? '', mimetype: part.mimetype };
    }
  } catch (err) {
    const stalled = stall.stalled();
    if (stalled) throw stalled;
    // A client that hangs up mid-upload surfaces as a reset or a cut-off multipart body: not a
    // fault of ours nor a malformed request, and nobody is left to answer.
    if (clientWentAway(request)) throw new HttpError(499, 'CLIENT_CLOSED', 'The client went away during the upload', {}, { cause: err });
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw uploadTooLarge(options.maxBytes);
    if (code === 'FST_FILES_LIMIT') throw new HttpError(400, 'TOO_MANY_FILES', 'Expected exactly one audio file');
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw new HttpError(400, 'TOO_MANY_FIELDS', 'The form has too many fields');
    // busboy cannot search for a boundary longer than 252 characters (RFC 2046 allows 70) and says so with a plain Error.
    if (err instanceof Error && /needle cannot have a length/i.test(err.message)) {
      throw new HttpError(400, 'MALFORMED_MULTIPART', 'The multipart boundary is too long: RFC 2046 allows at most 70 characters');
    }
    if (err instanceof Error && /Unexpected end of (form|multipart data)|terminated early due to unexpected end|Malformed part header|Multipart: Boundary not found/i.test(err.message)) {
      throw new HttpError(400, 'MALFORMED_MULTIPART', `The multipart body is malformed: ${err.message}`);
    }
    throw err;
  } finally {
    stall.stop();
  }
  if (!upload) throw new HttpError(400, 'MISSING_FILE', `Expected an audio file in the field "${options.fileFields[0]}"`);
  if (upload.bytes === 0) throw new HttpError(400, 'EMPTY_FILE', 'The uploaded file is empty');
  return { ...upload, fields };
}
