// The audio a soak sends, made up on the spot so that it needs no file and no encoder: a signal
// that keeps whisper busy, as a 16 kHz PCM WAV (read by the server itself) and as a Sun .au file
// (read through ffmpeg), and the same bytes damaged on purpose.

const SAMPLE_RATE = 16000;
const WAV_HEADER_BYTES = 44;
const AU_HEADER_BYTES = 24;

/**
 * A 16 kHz signal that is not silence: a few tones whose loudness rises and falls like syllables,
 * so whisper.cpp's encoder and decoder do their full work on it.
 */
export function syllableTones(seconds: number, sampleRate = SAMPLE_RATE): Float32Array {
  const pcm = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < pcm.length; i++) {
    const t = i / sampleRate;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    pcm[i] = 0.25 * envelope * (Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 660 * t));
  }
  return pcm;
}

const toInt16 = (sample: number): number => Math.round(Math.min(1, Math.max(-1, sample)) * 32767);

/** A canonical 44-byte-header PCM WAV: 16 kHz, mono, 16-bit. */
export function pcm16Wav(samples: Float32Array): Buffer {
  const file = silentWav(samples.length);
  for (let i = 0; i < samples.length; i++) file.writeInt16LE(toInt16(samples[i] as number), WAV_HEADER_BYTES + 2 * i);
  return file;
}

/** A WAV like pcm16Wav's of `sampleCount` samples of silence (large ones cost no signal to compute). */
export function silentWav(sampleCount: number): Buffer {
  const dataBytes = sampleCount * 2;
  const file = Buffer.alloc(WAV_HEADER_BYTES + dataBytes);
  file.write('RIFF', 0, 'ascii');
  file.writeUInt32LE(WAV_HEADER_BYTES - 8 + dataBytes, 4);
  file.write('WAVEfmt ', 8, 'ascii');
  file.writeUInt32LE(16, 16); // size of the fmt chunk
  file.writeUInt16LE(1, 20); // integer PCM
  file.writeUInt16LE(1, 22); // one channel
  file.writeUInt32LE(SAMPLE_RATE, 24);
  file.writeUInt32LE(SAMPLE_RATE * 2, 28); // bytes per second
  file.writeUInt16LE(2, 32); // bytes per frame
  file.writeUInt16LE(16, 34); // bits per sample
  file.write('data', 36, 'ascii');
  file.writeUInt32LE(dataBytes, 40);
  return file;
}

/**
 * A Sun/NeXT .au file, 16-bit big-endian PCM: a real audio format the server does not read itself,
 * so every upload of it goes through ffmpeg, and a client needs no encoder to write it.
 */
export function pcm16Au(samples: Float32Array): Buffer {
  const dataBytes = samples.length * 2;
  const file = Buffer.alloc(AU_HEADER_BYTES + dataBytes);
  file.write('.snd', 0, 'ascii');
  file.writeUInt32BE(AU_HEADER_BYTES, 4); // where the data starts
  file.writeUInt32BE(dataBytes, 8);
  file.writeUInt32BE(3, 12); // 16-bit linear PCM
  file.writeUInt32BE(SAMPLE_RATE, 16);
  file.writeUInt32BE(1, 20); // channels
  for (let i = 0; i < samples.length; i++) file.writeInt16BE(toInt16(samples[i] as number), AU_HEADER_BYTES + 2 * i);
  return file;
}

/** The first `bytes` bytes of a file: a WAV's header still promises the whole data chunk. */
export function truncatedWav(wav: Buffer, bytes: number): Buffer {
  return Buffer.from(wav.subarray(0, Math.min(bytes, wav.length)));
}

/** Bytes from a seeded generator: the same "garbage" every run. */
export function garbageBytes(length: number, random: () => number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A deterministic generator (xorshift32), so a soak's mix and its garbage are the same every run. */
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
