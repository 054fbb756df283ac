/**
 * Builds WAV files byte by byte for tests, including deliberately broken ones. Written for the
 * tests, independent of the decoder under test, so a shared misunderstanding cannot hide a bug.
 */

export interface RawChunk {
  id: string;
  body: Uint8Array;
  /** Size written in the chunk header; defaults to body.length (lie on purpose to test rejection). */
  declaredSize?: number;
  /** Omit the pad byte after an odd-sized body (as some broken writers do). */
  omitPad?: boolean;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function u32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  return b;
}

export function encodeChunk(chunk: RawChunk): Uint8Array {
  const pad = chunk.body.length % 2 === 1 && !chunk.omitPad ? new Uint8Array(1) : new Uint8Array(0);
  return concatBytes(ascii(chunk.id), u32(chunk.declaredSize ?? chunk.body.length), chunk.body, pad);
}

/** A RIFF container around the given chunks; magic/form/size can be overridden to build bad files. */
export function riff(chunks: RawChunk[], header: { magic?: string; form?: string; riffSize?: number } = {}): Uint8Array {
  const body = concatBytes(...chunks.map(encodeChunk));
  return concatBytes(ascii(header.magic ?? 'RIFF'), u32(header.riffSize ?? body.length + 4), ascii(header.form ?? 'WAVE'), body);
}

export interface FmtFields {
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign?: number;
  byteRate?: number;
  /** For WAVE_FORMAT_EXTENSIBLE (formatTag 0xFFFE): the sub-format tag put into the standard GUID. */
  subFormatTag?: number;
  /** Replace the whole 16-byte sub-format GUID (to test non-standard GUIDs). */
  subFormatGuid?: Uint8Array;
  /** Truncate the fmt body to this many bytes. */
  truncateTo?: number;
}

const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

export function fmtChunk(f: FmtFields): RawChunk {
  const blockAlign = f.blockAlign ?? (f.channels * f.bitsPerSample) / 8;
  const extensible = f.formatTag === 0xfffe;
  const body = new Uint8Array(extensible ? 40 : 16);
  const v = new DataView(body.buffer);
  v.setUint16(0, f.formatTag, true);
  v.setUint16(2, f.channels, true);
  v.setUint32(4, f.sampleRate >>> 0, true);
  v.setUint32(8, (f.byteRate ?? f.sampleRate * blockAlign) >>> 0, true);
  v.setUint16(12, blockAlign, true);
  v.setUint16(14, f.bitsPerSample, true);
  if (extensible) {
    v.setUint16(16, 22, true); // cbSize
    v.setUint16(18, f.bitsPerSample, true); // valid bits
    v.setUint32(20, f.channels === 2 ? 0x3 : 0x4, true); // channel mask
    if (f.subFormatGuid) body.set(f.subFormatGuid, 24);
    else {
      v.setUint16(24, f.subFormatTag ?? 1, true);
      body.set(GUID_TAIL, 26);
    }
  }
  return { id: 'fmt ', body: f.truncateTo === undefined ? body : body.subarray(0, f.truncateTo) };
}

export type SampleEncoding = 'int' | 'float';

export interface PcmSpec {
  sampleRate: number;
  encoding: SampleEncoding;
  bitsPerSample: 8 | 16 | 24 | 32 | 64;
  /** Wrap the format in WAVE_FORMAT_EXTENSIBLE. */
  extensible?: boolean;
}

/** Quantises [-1, 1] floats the way common writers do (round, clip); floats are stored as-is. */
export function encodeSamples(channels: ArrayLike<number>[], spec: PcmSpec): Uint8Array {
  const frames = channels[0]?.length ?? 0;
  const bytesPer = spec.bitsPerSample / 8;
  const out = new Uint8Array(frames * channels.length * bytesPer);
  const v = new DataView(out.buffer);
  let pos = 0;
  for (let i = 0; i < frames; i++) {
    for (const ch of channels) {
      const x = ch[i] ?? 0;
      if (spec.encoding === 'float') {
        if (spec.bitsPerSample === 32) v.setFloat32(pos, x, true);
        else v.setFloat64(pos, x, true);
      } else {
        const full = 2 ** (spec.bitsPerSample - 1);
        const q = Math.max(-full, Math.min(full - 1, Math.round(x * full)));
        if (spec.bitsPerSample === 8) v.setUint8(pos, q + 128);
        else if (spec.bitsPerSample === 16) v.setInt16(pos, q, true);
        else if (spec.bitsPerSample === 24) {
          const u = q < 0 ? q + 0x1000000 : q;
          v.setUint8(pos, u & 0xff);
          v.setUint8(pos + 1, (u >> 8) & 0xff);
          v.setUint8(pos + 2, (u >> 16) & 0xff);
        } else v.setInt32(pos, q, true);
      }
      pos += bytesPer;
    }
  }
  return out;
}

export function fmtFor(spec: PcmSpec, channels: number): RawChunk {
  const baseTag = spec.encoding === 'int' ? 1 : 3;
  return fmtChunk({
    formatTag: spec.extensible ? 0xfffe : baseTag,
    subFormatTag: baseTag,
    channels,
    sampleRate: spec.sampleRate,
    bitsPerSample: spec.bitsPerSample,
  });
}

/** A complete, valid WAV file with the given per-channel samples. */
export function buildWav(channels: ArrayLike<number>[], spec: PcmSpec): Uint8Array {
  return riff([fmtFor(spec, channels.length), { id: 'data', body: encodeSamples(channels, spec) }]);
}

export function sine(frequency: number, sampleRate: number, seconds: number, amplitude = 0.5, phase = 0): Float64Array {
  const n = Math.round(sampleRate * seconds);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate + phase);
  return out;
}
