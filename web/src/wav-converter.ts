// Turns a recorded clip into 16 kHz mono WAV in the browser: decodeAudioData on a one-frame
// OfflineAudioContext at 16 kHz decodes and resamples in one step; the context is then rendered
// (one frame) so it reaches the 'closed' state and holds nothing. Used when the server cannot decode
// the recorded format (no ffmpeg there: 415 AUDIO_UNSUPPORTED_FORMAT).
import type { MemoryManager } from './memory-manager.js';
import { encodeWavMono } from './wav-encoder.js';

export const WAV_SAMPLE_RATE = 16_000;

export async function convertToWav(blob: Blob, memory: MemoryManager): Promise<Blob> {
  const context = memory.registerAudioContext(new OfflineAudioContext(1, 1, WAV_SAMPLE_RATE));
  try {
    const audio = await context.decodeAudioData(await blob.arrayBuffer());
    const channels: Float32Array[] = [];
    for (let c = 0; c < audio.numberOfChannels; c++) channels.push(audio.getChannelData(c));
    return encodeWavMono(channels, audio.sampleRate);
  } finally {
    await context.startRendering().catch(() => undefined);
    await memory.closeAudioContext(context);
  }
}
