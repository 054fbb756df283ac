// A decode that hangs (an input ffmpeg waits on) must not hold transcription hostage: decoding has
// its own slots (DECODE_CONCURRENCY), its own bounded queue and its own time limit
// (DECODE_TIMEOUT_S), apart from the transcription slots. ffmpeg is a stand-in here (FFMPEG_PATH)
// whose first run hangs like ffmpeg on a stalled input and whose later runs are the real ffmpeg.
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isFfmpegAvailable } from '../../src/audio/index.js';
import { clip, convert } from './helpers/audio.js';
import { errorCode, injectApp, makeRoot, waitFor, type InjectInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';
import { isRunning } from '../helpers/processes.js';

const FFMPEG = await isFfmpegAvailable();

let root: Root;
let mp3: Buffer;

/** An ffmpeg whose first run hangs (recording its pid; exec keeps it) and whose later runs are ffmpeg. */
async function firstRunHangs(name: string): Promise<{ exe: string; pidFile: string }> {
  const exe = join(root.path, name);
  const lock = join(root.path, `${name}.first`);
  const pidFile = join(root.path, `${name}.pid`);
  await writeFile(exe, `#!/bin/sh\nif mkdir '${lock}' 2>/dev/null; then echo $$ > '${pidFile}'; exec sleep 300; fi\nexec ffmpeg "$@"\n`);
  await chmod(exe, 0o755);
  return { exe, pidFile };
}

async function post(server: InjectInstance, data: Buffer, filename: string, session: string) {
  const body = await form([['audio', { data, filename, type: 'application/octet-stream' }]]);
  const started = Date.now();
  const response = await server.app.inject({
    method: 'POST',
    url: '/transcribe',
    payload: body.payload,
    headers: { 'content-type': body.contentType, 'x-session-id': session },
  });
  return { status: response.statusCode, body: response.body, json: () => response.json(), headers: response.headers, ms: Date.now() - started };
}

beforeAll(async () => {
  root = await makeRoot('slow-decode');
  if (FFMPEG) mp3 = await convert(clip(2), 'mp3', root.path);
});

afterAll(async () => {
  await root?.remove();
});

describe.skipIf(!FFMPEG)('a hanging decode (skipped when ffmpeg is not on PATH)', () => {
  // DECODE_TIMEOUT_S leaves the two good requests time to finish before the cut on a loaded machine.
  it('leaves WAV and ffmpeg-decoded requests transcribing, and is cut at DECODE_TIMEOUT_S with its ffmpeg killed', { timeout: 60_000 }, async () => {
    const { exe, pidFile } = await firstRunHangs('hanging-ffmpeg');
    const server = await injectApp(root, 'hang', { FFMPEG_PATH: exe, MAX_CONCURRENCY: '1', DECODE_CONCURRENCY: '2', DECODE_TIMEOUT_S: '15', REQUEST_TIMEOUT_S: '120' });
    try {
      const hanging = post(server, mp3, 'stalled.mp3', 'hanging');
      await waitFor(() => existsSync(pidFile), 'the hanging ffmpeg to start');
      const pid = Number((await readFile(pidFile, 'utf8')).trim());

      const wav = await post(server, clip(2), 'good.wav', 'wav');
      expect(wav.status, wav.body).toBe(200);
      expect(wav.json()).toMatchObject({ duration_s: 2 });
      const viaFfmpeg = await post(server, mp3, 'good.mp3', 'mp3');
      expect(viaFfmpeg.status, viaFfmpeg.body).toBe(200);
      expect(viaFfmpeg.json().duration_s).toBeCloseTo(2, 0);
      // Both answered while the hanging decode still ran.
      expect(isRunning(pid)).toBe(true);

      const cut = await hanging;
      expect(cut.status, cut.body).toBe(422);
      expect(errorCode(cut.json())).toBe('AUDIO_DECODER_FAILED');
      expect(cut.json().error.message).toMatch(/longer than the limit of 15 s/);
      expect(cut.ms).toBeGreaterThanOrEqual(15_000);
      expect(cut.ms).toBeLessThan(30_000);
      await waitFor(() => !isRunning(pid), 'the hanging ffmpeg to be gone', 2000);
      expect(server.services.decoding).toMatchObject({ running: 0, queued: 0 });
    } finally {
      await server.close();
    }
  });

  it('turns away decodes beyond DECODE_CONCURRENCY + MAX_QUEUE with 503 and Retry-After', async () => {
    const { exe, pidFile } = await firstRunHangs('hanging-ffmpeg-2');
    const server = await injectApp(root, 'full', { FFMPEG_PATH: exe, DECODE_CONCURRENCY: '1', MAX_QUEUE: '0', DECODE_TIMEOUT_S: '2' });
    try {
      const hanging = post(server, mp3, 'stalled.mp3', 'hanging');
      await waitFor(() => existsSync(pidFile), 'the hanging ffmpeg to start');
      const refused = await post(server, mp3, 'good.mp3', 'other');
      expect(refused.status, refused.body).toBe(503);
      expect(errorCode(refused.json())).toBe('QUEUE_FULL');
      expect(refused.json().error.message).toMatch(/decodes running/);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect((await hanging).status).toBe(422);
    } finally {
      await server.close();
    }
  });
});
