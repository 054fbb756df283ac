// Not part of the page: the browser half of the upload benchmark (test/web/upload-bench.ts), built
// into its own bundle. It records with the page's own recorder and uploads both ways.
import { pageMemory } from '../memory-manager.js';
import { SafeMediaRecorder } from '../safe-media-recorder.js';
import { transcribe, type TranscribeOutcome } from '../transcribe-client.js';
import { convertToWav } from '../wav-converter.js';

const memory = pageMemory();
const clips = new Map<string, Blob>();

async function record(name: string, ms: number, audioBitsPerSecond?: number): Promise<{ bytes: number; type: string }> {
  const recorder = new SafeMediaRecorder({ memory, ...(audioBitsPerSecond && { audioBitsPerSecond }) });
  await recorder.start({ audio: { channelCount: 1 } });
  await new Promise((resolve) => setTimeout(resolve, ms));
  const blob = await recorder.stop();
  clips.set(name, blob);
  return { bytes: blob.size, type: blob.type };
}

/** Two recordings of the same sound at once (the fake microphone plays one file). */
async function recordPair(ms: number, bitsA: number | undefined, bitsB: number | undefined): Promise<unknown> {
  const [a, b] = await Promise.all([record('a', ms, bitsA), record('b', ms, bitsB)]);
  return { a, b };
}

async function uploadRecorded(name: string): Promise<TranscribeOutcome & { wallMs: number }> {
  const clip = clips.get(name);
  if (!clip) throw new Error(`no clip ${name}`);
  const t0 = performance.now();
  const outcome = await transcribe(clip, { language: 'en' });
  return { ...outcome, wallMs: performance.now() - t0 };
}

async function convert(name: string): Promise<{ convertMs: number; bytes: number }> {
  const clip = clips.get(name);
  if (!clip) throw new Error(`no clip ${name}`);
  const t0 = performance.now();
  const wav = await convertToWav(clip, memory);
  const convertMs = performance.now() - t0;
  clips.set(`${name}.wav`, wav);
  return { convertMs, bytes: wav.size };
}

async function uploadWav(name: string): Promise<TranscribeOutcome & { wallMs: number; convertMs: number }> {
  const clip = clips.get(name);
  if (!clip) throw new Error(`no clip ${name}`);
  const t0 = performance.now();
  const wav = await convertToWav(clip, memory);
  const convertMs = performance.now() - t0;
  const outcome = await transcribe(wav, { language: 'en' });
  return { ...outcome, sent: 'wav', wallMs: performance.now() - t0, convertMs };
}

async function base64(name: string): Promise<string> {
  const clip = clips.get(name);
  if (!clip) throw new Error(`no clip ${name}`);
  const bytes = new Uint8Array(await clip.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

(globalThis as { uploadBench?: unknown }).uploadBench = { recordPair, uploadRecorded, convert, uploadWav, base64, memory, drop: () => clips.clear() };
