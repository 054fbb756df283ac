import { invalidWav } from './errors.js';
import type { WavLayout } from './wav-layout.js';

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Converts the interleaved samples of a WAV data chunk to mono float32 by averaging channels:
 * frames [start, end) into out[start..end), so a long file can be done in slices.
 *
 * Averaging (rather than taking channel 0) keeps speech that was panned or recorded on only one
 * side of a stereo file, at the cost of -6 dB for such a file, which whisper does not mind.
 *
 * Integer scaling divides by 2^(bits-1), the convention most tools use, so full-scale negative is
 * exactly -1 and positive peaks are just under 1. Float samples are passed through; values beyond
 * +-1 are legal in float WAV (headroom) and are clamped only after resampling.
 *
 * Non-finite float samples are rejected, not sanitised: NaN/Inf never come from a microphone, so
 * they mean a corrupt file or a buggy producer, and silently replacing them would hand whisper
 * damaged audio with no signal to the caller (the resampler would also smear one NaN over its
 * whole filter length).
 *
 * The sample reader is chosen once per call, outside the frame loop, so the hot loop does one
 * typed read per sample and no format dispatch; that matters for hour-long files.
 */
export function mixWavFrames(bytes: Uint8Array, layout: WavLayout, out: Float32Array, start: number, end: number): void {
  const { format, dataOffset } = layout;
  const { channels, blockAlign } = format;
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, layout.dataLength);
  const bytesPerSample = format.bitsPerSample / 8;
  const scaleToUnit = 1 / channels;

  const mix = (read: (pos: number) => number, fullScale: number): void => {
    const gain = scaleToUnit / fullScale;
    for (let frame = start, pos = start * blockAlign; frame < end; frame++, pos += blockAlign) {
      let sum = 0;
      for (let c = 0, p = pos; c < channels; c++, p += bytesPerSample) sum += read(p);
      out[frame] = sum * gain;
    }
  };

  if (format.encoding === 'int') {
    switch (format.bitsPerSample) {
      case 8:
        // 8-bit WAV is the one unsigned format: silence is 128.
        mix((p) => view.getUint8(p) - 128, 128);
        break;
      case 16:
        mix((p) => view.getInt16(p, true), 32768);
        break;
      case 24:
        // Little-endian 3-byte signed: low 16 bits unsigned plus the sign-carrying top byte.
        mix((p) => view.getUint16(p, true) + view.getInt8(p + 2) * 65536, 8388608);
        break;
      default:
        mix((p) => view.getInt32(p, true), 2147483648);
        break;
    }
    return;
  }

  const readFloat = format.bitsPerSample === 32 ? (p: number) => view.getFloat32(p, true) : (p: number) => view.getFloat64(p, true);
  for (let frame = start, pos = start * blockAlign; frame < end; frame++, pos += blockAlign) {
    let sum = 0;
    for (let c = 0, p = pos; c < channels; c++, p += bytesPerSample) {
      const v = readFloat(p);
      if (!Number.isFinite(v)) {
        throw invalidWav(`sample at frame ${frame}, channel ${c} is ${v}; float samples must be finite (the file is corrupt)`);
      }
      // A float64 sample beyond float32's range becomes +-Infinity in the Float32Array, and the
      // resampler turns Infinity - Infinity into NaN, which the final clamp lets through. No
      // recording comes near this magnitude, so like NaN it means a corrupt file.
      if (Math.abs(v) > FLOAT32_MAX) {
        throw invalidWav(`sample at frame ${frame}, channel ${c} is ${v}, beyond the float32 range (the file is corrupt)`);
      }
      sum += v;
    }
    out[frame] = sum * scaleToUnit;
  }
}
