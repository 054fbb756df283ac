// Audio bytes for the HTTP tests, built in the test: 16-bit PCM WAV of the syllable-like test
// signal, and (through ffmpeg) the same signal in another container.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { syllableTones } from '../../helpers/signals.js';

const run = promisify(execFile);

/** The 44-byte canonical header of a 16-bit PCM WAV holding `dataBytes` bytes of samples. */
export function wavHeader(dataBytes: number, options: { sampleRate?: number; channels?: number; dataSizeField?: number } = {}): Buffer {
  const sampleRate = options.sampleRate ?? 16000;
  const channels = options.channels ?? 1;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE((36 + dataBytes) >>> 0, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(options.dataSizeField ?? dataBytes, 40);
  return header;
}

/** A 16-bit mono WAV file of `samples` (floats in -1..1). */
export function wav(samples: Float32Array, sampleRate = 16000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  return Buffer.concat([wavHeader(data.length, { sampleRate }), data]);
}

const clips = new Map<string, Buffer>();

/** `seconds` of the test signal as a WAV file (memoised: long clips are built once per file). */
export function clip(seconds: number, sampleRate = 16000): Buffer {
  const key = `${seconds}@${sampleRate}`;
  let bytes = clips.get(key);
  if (!bytes) {
    bytes = wav(syllableTones(seconds, sampleRate), sampleRate);
    clips.set(key, bytes);
  }
  return bytes;
}

/** The WAV `input` converted by ffmpeg to `ext` (e.g. "mp3", "flac", "ogg") in `dir`. */
export async function convert(input: Buffer, ext: string, dir: string): Promise<Buffer> {
  const from = join(dir, `convert-in-${ext}.wav`);
  const to = join(dir, `convert-out.${ext}`);
  await writeFile(from, input);
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', from, to]);
  return readFile(to);
}
