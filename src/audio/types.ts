import type { WHISPER_SAMPLE_RATE } from './constants.js';

/** What the input looked like before conversion; useful for logs and API responses. */
export interface AudioSourceInfo {
  /** Container/encoding, e.g. "wav/pcm_s16le", "wav/float32", "ogg", "flac". */
  format: string;
  /** Sample rate of the input in Hz; 0 when ffmpeg did not report it. */
  sampleRate: number;
  /** Channel count of the input; 0 when ffmpeg did not report it. */
  channels: number;
  /** Bits per sample of the input, known for WAV only. */
  bitsPerSample?: number;
}

/** Audio ready for whisper.cpp: mono float32 PCM at 16 kHz with every sample in [-1, 1]. */
export interface DecodedAudio {
  pcm: Float32Array;
  sampleRate: typeof WHISPER_SAMPLE_RATE;
  /** pcm.length / 16000. */
  durationS: number;
  source: AudioSourceInfo;
}

export interface DecodeOptions {
  /** Reject with AUDIO_TOO_LONG beyond this many seconds (default DEFAULT_MAX_DURATION_S). */
  maxDurationS?: number;
}

export interface DecodeFileOptions extends DecodeOptions {
  /** Aborting rejects with ABORTED and kills ffmpeg if it is running. */
  signal?: AbortSignal;
  /** ffmpeg executable to use for non-WAV input (default: "ffmpeg" looked up on PATH). */
  ffmpegPath?: string;
  /** Stop decoding after this many seconds (killing ffmpeg) with AUDIO_DECODER_FAILED; default: no limit. */
  timeoutS?: number;
}
