import { open, type FileHandle } from 'node:fs/promises';
import { resolveMaxDurationS } from './duration-limit.js';
import { AudioDecodeError, abortedError } from './errors.js';
import { decodeWavInSlices } from './decode-wav.js';
import { decodeWithFfmpeg } from './ffmpeg.js';
import { sniffContainer } from './sniff-container.js';
import { MANIFEST_SNIFF_BYTES, textManifestKind } from './sniff-manifest.js';
import type { DecodedAudio, DecodeFileOptions } from './types.js';
import { isRiffWave } from './wav-layout.js';

/**
 * WAV files above this size go through ffmpeg, which streams, instead of being read into memory
 * (Node cannot read a file over 2 GiB into one buffer anyway).
 */
const MAX_IN_MEMORY_WAV_BYTES = 1024 * 1024 * 1024;
// Enough for the container's magic and for a manifest hidden behind a few bytes of junk.
const SNIFF_BYTES = MANIFEST_SNIFF_BYTES;

function readFailure(filePath: string, error: unknown): AudioDecodeError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : error instanceof Error ? error.message : String(error);
  return new AudioDecodeError('AUDIO_INVALID', `Cannot read audio file '${filePath}': ${reason}`, { cause: error });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/**
 * Decodes an audio file to 16 kHz mono float PCM in [-1, 1].
 *
 * The format is sniffed from the first bytes, never the extension. RIFF/WAVE is decoded natively
 * (no process, no dependency); a WAV whose encoding we do not handle (mu-law, ADPCM, ...) and
 * every other format go through ffmpeg when it can be run, and otherwise fail with
 * AUDIO_UNSUPPORTED_FORMAT naming ffmpeg as the missing piece. Rejects with AudioDecodeError only;
 * past `timeoutS` the decoding is stopped (ffmpeg killed) with AUDIO_DECODER_FAILED.
 */
export async function decodeAudioFile(filePath: string, options: DecodeFileOptions = {}): Promise<DecodedAudio> {
  const { timeoutS } = options;
  if (timeoutS === undefined) return decode(filePath, options);
  if (!(timeoutS > 0) || !Number.isFinite(timeoutS)) {
    throw new AudioDecodeError('AUDIO_INVALID', `timeoutS must be a positive finite number, got ${String(timeoutS)}`);
  }
  const timeout = AbortSignal.timeout(timeoutS * 1000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await decode(filePath, { ...options, signal });
  } catch (error) {
    // The caller's own abort stays ABORTED; running out of time is the decoder's failure.
    if (!timeout.aborted || options.signal?.aborted || !(error instanceof AudioDecodeError) || error.code !== 'ABORTED') throw error;
    throw new AudioDecodeError('AUDIO_DECODER_FAILED', `Decoding took longer than the limit of ${timeoutS} s and was stopped`, { cause: error });
  }
}

async function decode(filePath: string, options: DecodeFileOptions): Promise<DecodedAudio> {
  const { signal } = options;
  const maxDurationS = resolveMaxDurationS(options.maxDurationS);
  throwIfAborted(signal);

  let head: Uint8Array;
  let wavBytes: Uint8Array | undefined;
  let size: number;
  let handle: FileHandle | undefined;
  try {
    handle = await open(filePath, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AudioDecodeError('AUDIO_INVALID', `Cannot read audio file '${filePath}': not a regular file`);
    size = stat.size;
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
    throwIfAborted(signal);
    // read() above passed an explicit position, which leaves the file position at 0, so
    // readFile() on the same handle (no reopen, no race with a rename) returns the whole file.
    if (isRiffWave(head) && size <= MAX_IN_MEMORY_WAV_BYTES) wavBytes = await handle.readFile({ signal });
  } catch (error) {
    if (error instanceof AudioDecodeError) throw error;
    if ((error as Error | undefined)?.name === 'AbortError') throw abortedError(signal);
    throw readFailure(filePath, error);
  } finally {
    await handle?.close().catch(() => undefined);
  }

  if (size === 0) throw new AudioDecodeError('AUDIO_EMPTY', `Audio file '${filePath}' is empty (0 bytes)`);
  const container = sniffContainer(head);
  const manifest = textManifestKind(head, container);
  if (manifest !== undefined) {
    throw new AudioDecodeError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `The file is ${manifest}, not audio: playlists and other manifests that point at other files or streams are refused`,
    );
  }
  const viaFfmpeg = (): Promise<DecodedAudio> =>
    decodeWithFfmpeg(filePath, { ...options, maxDurationS, containerHint: container });

  if (wavBytes === undefined) {
    if (container !== 'wav') return viaFfmpeg();
    // Oversized WAV: only ffmpeg can stream it; if it is missing, say why ffmpeg was needed.
    return viaFfmpeg().catch((error: unknown) => {
      if (error instanceof AudioDecodeError && error.code === 'AUDIO_UNSUPPORTED_FORMAT') {
        throw new AudioDecodeError(
          'AUDIO_UNSUPPORTED_FORMAT',
          `WAV file is ${size} bytes; WAV files over ${MAX_IN_MEMORY_WAV_BYTES} bytes are decoded through ffmpeg, which could not be run`,
        );
      }
      throw error;
    });
  }

  try {
    // In slices: a large WAV decoded in one go would stall the server's loop (bench:wav-decode).
    return await decodeWavInSlices(wavBytes, { maxDurationS, ...(signal && { signal }) });
  } catch (wavError) {
    if (!(wavError instanceof AudioDecodeError) || wavError.code !== 'AUDIO_UNSUPPORTED_FORMAT') throw wavError;
    // A valid WAV in an encoding we do not decode (mu-law, ADPCM, ...): ffmpeg usually can. If it
    // cannot be run either, the WAV error is the more useful one (it names the encoding).
    return viaFfmpeg().catch((ffmpegError: unknown) => {
      if (ffmpegError instanceof AudioDecodeError && ffmpegError.code === 'AUDIO_UNSUPPORTED_FORMAT') throw wavError;
      throw ffmpegError;
    });
  }
}
