// The WAV Chromium plays as its fake microphone (--use-file-for-fake-audio-capture): 16 kHz mono
// 16-bit tones shaped like syllables, so the recorder and whisper get a signal, not silence.
import { writeFile } from 'node:fs/promises';

import { syllableTones } from '../../helpers/signals.js';

export function wavBytes(samples: Float32Array, sampleRate = 16_000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Writes `seconds` of the signal to `path` (Chromium loops it). */
export async function writeFakeMicrophone(path: string, seconds = 5): Promise<string> {
  await writeFile(path, wavBytes(syllableTones(seconds)));
  return path;
}
