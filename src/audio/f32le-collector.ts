import { endianness } from 'node:os';

const INITIAL_CAPACITY_BYTES = 1 << 20;
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Accumulates a raw little-endian float32 byte stream (ffmpeg's stdout) into one Float32Array.
 *
 * Pipe chunks have arbitrary sizes, so a sample can straddle two chunks; bytes are therefore
 * appended verbatim into a growable byte buffer and only interpreted as floats at the end, which
 * handles any split for free. Capacity doubles (amortised O(1) appends) but never beyond the
 * byte budget, so a decoder that produces more than allowed is caught before memory is spent.
 */
export class F32leCollector {
  private buffer: Uint8Array;
  private length = 0;
  private readonly maxBytes: number;

  constructor(maxSamples: number) {
    this.maxBytes = maxSamples * 4;
    this.buffer = new Uint8Array(Math.min(INITIAL_CAPACITY_BYTES, this.maxBytes));
  }

  /** Complete samples received so far. */
  get sampleCount(): number {
    return Math.floor(this.length / 4);
  }

  /** Appends a chunk; returns false (and stores nothing) if it would exceed the sample budget. */
  push(chunk: Uint8Array): boolean {
    const needed = this.length + chunk.length;
    if (needed > this.maxBytes) return false;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.min(Math.max(this.buffer.length * 2, needed), this.maxBytes));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk, this.length);
    this.length = needed;
    return true;
  }

  /** The samples as an exact-length array; a dangling partial sample (1-3 bytes) is dropped. */
  finish(): Float32Array {
    const count = this.sampleCount;
    if (HOST_IS_LITTLE_ENDIAN) {
      // The buffer was allocated here at offset 0, so it is 4-byte aligned; slice() trims capacity.
      return new Float32Array(this.buffer.buffer, 0, count).slice();
    }
    const view = new DataView(this.buffer.buffer, 0, count * 4);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
}
