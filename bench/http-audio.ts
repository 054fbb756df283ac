/**
 * The audio bench/http.ts sends: 16 kHz mono 16-bit PCM WAV files, whole and damaged on purpose.
 */

const SAMPLE_RATE = 16000;
const HEADER_BYTES = 44;

/** A canonical 44-byte-header PCM WAV: 16 kHz, mono, 16-bit. */
export function pcm16Wav(samples: Float32Array): Buffer {
  const dataBytes = samples.length * 2;
  const file = Buffer.alloc(HEADER_BYTES + dataBytes);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  view.setUint32(4, HEADER_BYTES - 8 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // size of the fmt chunk
  view.setUint16(20, 1, true); // integer PCM
  view.setUint16(22, 1, true); // one channel
  view.setUint32(24, SAMPLE_RATE, true);
  view.setUint32(28, SAMPLE_RATE * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  samples.forEach((sample, i) => {
    const clamped = Math.min(1, Math.max(-1, sample));
    view.setInt16(HEADER_BYTES + 2 * i, Math.round(clamped * 32767), true);
  });
  return file;
}

/** The first `bytes` bytes of a WAV: the header still promises the whole data chunk. */
export function truncatedWav(wav: Buffer, bytes: number): Buffer {
  return Buffer.from(wav.subarray(0, Math.min(bytes, wav.length)));
}

/** Bytes from a seeded generator: the same "garbage" every run. */
export function garbageBytes(length: number, random: () => number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A deterministic generator (xorshift32), so the soak's mix and its garbage are the same every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}
