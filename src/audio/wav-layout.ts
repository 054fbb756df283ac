import { AudioDecodeError, invalidWav } from './errors.js';
import { parseWavFormat, type WavFormat } from './wav-format.js';

/** Where the audio lives inside a WAV buffer, after the chunk list has been walked and checked. */
export interface WavLayout {
  format: WavFormat;
  /** Byte offset of the first sample frame. */
  dataOffset: number;
  /** Bytes of whole frames available; a trailing partial frame is dropped. */
  dataLength: number;
  frameCount: number;
}

const RIFF_HEADER_SIZE = 12;
const CHUNK_HEADER_SIZE = 8;

/**
 * Data sizes that mean "unknown, read to end of file". Recorders writing to a pipe cannot seek
 * back to patch the header: ffmpeg and opus-tools leave 0xFFFFFFFF, and arecord leaves
 * 0x7FFFFF00 or 0x80000000 depending on version (some tools use 0x7FFFFFFF). Any other size that
 * overruns the file is a truncated or corrupt file and is rejected rather than silently trimmed.
 */
const STREAMING_DATA_SIZES: ReadonlySet<number> = new Set([0xffffffff, 0x7fffffff, 0x7fffff00, 0x80000000]);

function fourCC(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = bytes[offset + i] ?? 0;
    // Keep messages printable even when the "ID" is binary garbage.
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

/** True when the buffer starts with a RIFF/WAVE header; used to sniff files regardless of extension. */
export function isRiffWave(bytes: Uint8Array): boolean {
  return bytes.length >= RIFF_HEADER_SIZE && fourCC(bytes, 0) === 'RIFF' && fourCC(bytes, 8) === 'WAVE';
}

function checkRiffHeader(bytes: Uint8Array): void {
  if (bytes.length < RIFF_HEADER_SIZE) {
    throw invalidWav(`file is ${bytes.length} bytes, too short for a RIFF/WAVE header (${RIFF_HEADER_SIZE} bytes)`);
  }
  const magic = fourCC(bytes, 0);
  if (magic === 'RIFX' || magic === 'RF64' || magic === 'BW64') {
    throw new AudioDecodeError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `Unsupported WAV variant '${magic}': only little-endian RIFF WAVE is decoded natively (install ffmpeg for ${magic})`,
    );
  }
  if (magic !== 'RIFF') throw invalidWav(`not a RIFF file (starts with '${magic}' instead of 'RIFF')`);
  const form = fourCC(bytes, 8);
  if (form !== 'WAVE') throw invalidWav(`RIFF form type is '${form}', not 'WAVE'`);
}

/**
 * Walks the RIFF chunk list and returns the validated format and data location.
 *
 * The RIFF size field is ignored: writers get it wrong often (streaming ones leave a placeholder),
 * and the buffer length is the only bound we can trust. Unknown chunks (LIST, fact, cue, bext, ...)
 * are skipped, honouring the pad byte after odd-sized chunks. Nothing is allocated from header
 * fields; every size is checked against the bytes actually present before it is used.
 */
export function parseWavLayout(bytes: Uint8Array): WavLayout {
  checkRiffHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let format: WavFormat | undefined;
  let data: { offset: number; length: number } | undefined;
  let offset = RIFF_HEADER_SIZE;

  // Each iteration advances by at least CHUNK_HEADER_SIZE, so the loop ends on any input.
  while (offset < bytes.length) {
    const remaining = bytes.length - offset;
    if (remaining < CHUNK_HEADER_SIZE) {
      // A few stray bytes after the audio (a missing final pad, trailing junk) are harmless.
      if (data !== undefined && format !== undefined) break;
      throw invalidWav(`file ends mid-chunk-header at byte ${offset} (${remaining} stray byte(s)); the file is truncated`);
    }
    const id = fourCC(bytes, offset);
    const declaredSize = view.getUint32(offset + 4, true);
    const bodyOffset = offset + CHUNK_HEADER_SIZE;
    const bodyAvailable = bytes.length - bodyOffset;

    if (id === 'data') {
      if (data === undefined) {
        let length = declaredSize;
        if (declaredSize > bodyAvailable) {
          if (!STREAMING_DATA_SIZES.has(declaredSize)) {
            throw invalidWav(
              `data chunk claims ${declaredSize} bytes but only ${bodyAvailable} remain (the file is truncated or the header is corrupt)`,
            );
          }
          length = bodyAvailable;
        }
        data = { offset: bodyOffset, length };
      }
      // A streaming-sized data chunk runs to the end of the file, so nothing can follow it.
      if (declaredSize > bodyAvailable) break;
    } else if (declaredSize > bodyAvailable) {
      // Metadata appended after complete audio (and cut short) must not cost the user the audio.
      if (data !== undefined && format !== undefined) break;
      throw invalidWav(`'${id}' chunk at byte ${offset} claims ${declaredSize} bytes but only ${bodyAvailable} remain`);
    } else if (id === 'fmt ' && format === undefined) {
      format = parseWavFormat(new DataView(bytes.buffer, bytes.byteOffset + bodyOffset, declaredSize));
    }

    offset = bodyOffset + declaredSize + (declaredSize & 1);
  }

  if (format === undefined) throw invalidWav("no 'fmt ' chunk found");
  if (data === undefined) throw invalidWav("no 'data' chunk found");

  const frameCount = Math.floor(data.length / format.blockAlign);
  if (frameCount === 0) {
    throw new AudioDecodeError(
      'AUDIO_EMPTY',
      `WAV contains no audio: the data chunk holds ${data.length} byte(s), less than one ${format.blockAlign}-byte frame`,
    );
  }
  return { format, dataOffset: data.offset, dataLength: frameCount * format.blockAlign, frameCount };
}
