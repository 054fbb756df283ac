import { MAX_SOURCE_SAMPLE_RATE, MIN_SOURCE_SAMPLE_RATE } from './constants.js';
import { AudioDecodeError, invalidWav } from './errors.js';

/** How one sample is stored in the data chunk, after WAVE_FORMAT_EXTENSIBLE has been unwrapped. */
export type WavSampleEncoding = 'int' | 'float';

export interface WavFormat {
  encoding: WavSampleEncoding;
  /** Container size of one sample: 8, 16, 24 or 32 for int; 32 or 64 for float. */
  bitsPerSample: number;
  channels: number;
  sampleRate: number;
  /** Bytes per frame (one sample for every channel). */
  blockAlign: number;
  /** Short human name such as "pcm_s16le" or "float32", used in DecodedAudio.source.format. */
  name: string;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

const PCM_FMT_MIN_SIZE = 16;
// 16 base bytes + cbSize (2) + validBits (2) + channelMask (4) + subFormat GUID (16).
const EXTENSIBLE_FMT_MIN_SIZE = 40;

/**
 * Every KSDATAFORMAT_SUBTYPE_* GUID for a classic format tag is {0000TTTT-0000-0010-8000-00AA00389B71}.
 * On disk (Data1..Data3 little-endian) that is the tag's two bytes followed by this fixed 14-byte
 * tail. Checking the tail keeps us from misreading vendor GUIDs (e.g. Ambisonic B-format) whose
 * first two bytes happen to be 1 or 3.
 */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** Names for the tags people actually meet, so the error says "mu-law" rather than "0x0007". */
const KNOWN_UNSUPPORTED_TAGS: ReadonlyMap<number, string> = new Map([
  [0x0002, 'Microsoft ADPCM'],
  [0x0006, 'A-law'],
  [0x0007, 'mu-law'],
  [0x0011, 'IMA ADPCM'],
  [0x0031, 'GSM 6.10'],
  [0x0040, 'G.721 ADPCM'],
  [0x0050, 'MPEG audio'],
  [0x0055, 'MP3'],
  [0x0092, 'Dolby AC-3'],
  [0x00ff, 'AAC'],
  [0x0161, 'Windows Media Audio'],
  [0x1610, 'HE-AAC'],
  [0x2000, 'Dolby AC-3'],
  [0x2001, 'DTS'],
  [0xf1ac, 'FLAC'],
]);

function hex4(tag: number): string {
  return `0x${tag.toString(16).toUpperCase().padStart(4, '0')}`;
}

function unsupportedEncoding(tag: number, via: string): AudioDecodeError {
  const known = KNOWN_UNSUPPORTED_TAGS.get(tag);
  const what = known === undefined ? `format tag ${hex4(tag)}` : `${known} (format tag ${hex4(tag)})`;
  return new AudioDecodeError(
    'AUDIO_UNSUPPORTED_FORMAT',
    `Unsupported WAV encoding: ${what}${via}; only integer PCM and IEEE float WAV are decoded natively ` +
      '(install ffmpeg for other encodings)',
  );
}

/** Resolves the effective format tag, unwrapping WAVE_FORMAT_EXTENSIBLE to its sub-format. */
function effectiveFormatTag(fmt: DataView, declaredTag: number): number {
  if (declaredTag !== WAVE_FORMAT_EXTENSIBLE) return declaredTag;
  if (fmt.byteLength < EXTENSIBLE_FMT_MIN_SIZE) {
    throw invalidWav(`WAVE_FORMAT_EXTENSIBLE fmt chunk is ${fmt.byteLength} bytes; it needs at least ${EXTENSIBLE_FMT_MIN_SIZE}`);
  }
  const cbSize = fmt.getUint16(16, true);
  if (cbSize < EXTENSIBLE_FMT_MIN_SIZE - 18) {
    throw invalidWav(`WAVE_FORMAT_EXTENSIBLE extension size is ${cbSize} bytes; it needs at least ${EXTENSIBLE_FMT_MIN_SIZE - 18}`);
  }
  const subTag = fmt.getUint16(24, true);
  for (let i = 0; i < SUBFORMAT_GUID_TAIL.length; i++) {
    if (fmt.getUint8(26 + i) !== SUBFORMAT_GUID_TAIL[i]) {
      throw new AudioDecodeError(
        'AUDIO_UNSUPPORTED_FORMAT',
        'Unsupported WAV encoding: WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID; ' +
          'only PCM and IEEE float sub-formats are decoded',
      );
    }
  }
  if (subTag !== WAVE_FORMAT_PCM && subTag !== WAVE_FORMAT_IEEE_FLOAT) {
    throw unsupportedEncoding(subTag, ' inside WAVE_FORMAT_EXTENSIBLE');
  }
  return subTag;
}

/**
 * Parses and validates a fmt chunk body. Everything downstream trusts the returned values, so
 * every field that sizes a loop or an allocation is checked here.
 */
export function parseWavFormat(fmt: DataView): WavFormat {
  if (fmt.byteLength < PCM_FMT_MIN_SIZE) {
    throw invalidWav(`fmt chunk is ${fmt.byteLength} bytes; it needs at least ${PCM_FMT_MIN_SIZE}`);
  }
  const declaredTag = fmt.getUint16(0, true);
  const channels = fmt.getUint16(2, true);
  const sampleRate = fmt.getUint32(4, true);
  const blockAlign = fmt.getUint16(12, true);
  const bitsPerSample = fmt.getUint16(14, true);

  const tag = effectiveFormatTag(fmt, declaredTag);
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) throw unsupportedEncoding(tag, '');

  if (channels === 0) throw invalidWav('fmt chunk declares 0 channels');
  if (sampleRate === 0) throw invalidWav('fmt chunk declares a sample rate of 0 Hz');
  if (sampleRate < MIN_SOURCE_SAMPLE_RATE || sampleRate > MAX_SOURCE_SAMPLE_RATE) {
    throw invalidWav(
      `sample rate ${sampleRate} Hz is outside the supported range ${MIN_SOURCE_SAMPLE_RATE}..${MAX_SOURCE_SAMPLE_RATE} Hz`,
    );
  }
  if (bitsPerSample === 0) throw invalidWav('fmt chunk declares 0 bits per sample');

  const encoding: WavSampleEncoding = tag === WAVE_FORMAT_PCM ? 'int' : 'float';
  const supportedBits = encoding === 'int' ? [8, 16, 24, 32] : [32, 64];
  if (!supportedBits.includes(bitsPerSample)) {
    throw new AudioDecodeError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `Unsupported WAV encoding: ${bitsPerSample}-bit ${encoding === 'int' ? 'integer PCM' : 'IEEE float'}; ` +
        `supported sizes are ${supportedBits.join(', ')} bits`,
    );
  }

  // We read frames at blockAlign strides and samples at bitsPerSample/8 offsets inside them; if
  // the two disagree the header is self-contradictory and any interpretation would be a guess.
  const expectedBlockAlign = channels * (bitsPerSample / 8);
  if (blockAlign !== expectedBlockAlign) {
    throw invalidWav(
      `block align is ${blockAlign} bytes but ${channels} channel(s) x ${bitsPerSample} bits needs ${expectedBlockAlign}`,
    );
  }

  const name = encoding === 'int' ? (bitsPerSample === 8 ? 'pcm_u8' : `pcm_s${bitsPerSample}le`) : `float${bitsPerSample}`;
  return { encoding, bitsPerSample, channels, sampleRate, blockAlign, name };
}
