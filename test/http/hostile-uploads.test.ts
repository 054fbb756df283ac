// Uploads crafted against the decoder rather than the HTTP layer: playlists that would make ffmpeg
// read a file of the server's (its transcript would come back, and a missing file would answer
// differently), and damaged audio whose ffmpeg error names heap addresses and server paths.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isFfmpegAvailable } from '../../src/audio/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { clip } from './helpers/audio.js';
import { errorCode, injectApp, makeRoot, type InjectInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';

const FFMPEG = await isFfmpegAvailable();

let root: Root;
let server: InjectInstance;
let secrets: { path: string; remove: () => Promise<void> };
let secretWav: string;

beforeAll(async () => {
  root = await makeRoot('hostile');
  server = await injectApp(root, 'hostile', { MAX_AUDIO_S: '20' });
  // Somewhere on the server, outside anything talk2me owns.
  secrets = await tempDir('server-files');
  secretWav = join(secrets.path, 'secret.wav');
  await writeFile(secretWav, clip(3));
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
  await secrets?.remove();
});

async function transcribe(data: Buffer, filename: string): Promise<{ status: number; body: string; json: () => any }> {
  const body = await form([['audio', { data, filename, type: 'audio/wav' }]]);
  const response = await server.app.inject({ method: 'POST', url: '/transcribe', payload: body.payload, headers: { 'content-type': body.contentType } });
  return { status: response.statusCode, body: response.body, json: () => response.json() };
}

const hls = (target: string): string => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${target}\n#EXT-X-ENDLIST\n`;

describe.skipIf(!FFMPEG)('playlists naming server files (skipped when ffmpeg is not on PATH)', () => {
  it('are refused with 415, and the server file is never transcribed', async () => {
    const answer = await transcribe(Buffer.from(hls(secretWav)), 'innocent.wav');
    expect(answer.status, answer.body).toBe(415);
    expect(errorCode(answer.json())).toBe('AUDIO_UNSUPPORTED_FORMAT');
    expect(answer.json().error.message).toMatch(/playlist/);
    // A transcript would come with the clip's duration; neither it nor the path is in the answer.
    expect(answer.json()).not.toHaveProperty('text');
    expect(answer.body).not.toMatch(/duration/);
    expect(answer.body).not.toContain(secrets.path);
  });

  it('answer the same whether the named file exists or not', async () => {
    const existing = await transcribe(Buffer.from(hls(secretWav)), 'a.wav');
    const missing = await transcribe(Buffer.from(hls(join(secrets.path, 'no-such-file.wav'))), 'a.wav');
    expect({ status: missing.status, body: missing.body }).toEqual({ status: existing.status, body: existing.body });
  });

  it.each([
    ['after a UTF-8 byte-order mark', Buffer.from([0xef, 0xbb, 0xbf])],
    ['after a few junk bytes', Buffer.from([0x00, 0x42, 0x9c, 0x13])],
  ])('are refused %s', async (_name, prefix) => {
    const answer = await transcribe(Buffer.concat([prefix, Buffer.from(hls(secretWav))]), 'innocent.mp3');
    expect(answer.status, answer.body).toBe(415);
    expect(errorCode(answer.json())).toBe('AUDIO_UNSUPPORTED_FORMAT');
  });

  it('leave the server transcribing', async () => {
    const answer = await transcribe(clip(2), 'good.wav');
    expect(answer.status, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ duration_s: 2 });
  });
});

describe.skipIf(!FFMPEG)('damaged audio that ffmpeg fails on (skipped when ffmpeg is not on PATH)', () => {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0]);
  const junk = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7919 + 13) % 251));

  it.each([
    // ffmpeg: "[ogg @ 0x…] CRC mismatch!" then "file:/…/upload: End of file"
    ['an Ogg page header followed by zeros', Buffer.concat([Buffer.from('OggS'), Buffer.alloc(200)]), 'damaged.ogg'],
    // ffmpeg: "[mp3 @ 0x…] Format mp3 detected only with low score…" then "file:/…/upload: Invalid argument"
    ['an ID3 tag followed by junk', Buffer.concat([id3, junk]), 'damaged.mp3'],
  ])('%s is a 400 whose message shows no heap address and no server path', async (_name, data, filename) => {
    const answer = await transcribe(data, filename);
    expect(answer.status, answer.body).toBe(400);
    expect(errorCode(answer.json())).toBe('AUDIO_INVALID');
    const { message } = answer.json().error as { message: string };
    expect(message).toMatch(/^ffmpeg could not decode the file/);
    expect(message).not.toMatch(/0x[0-9a-f]{4,}/i);
    expect(message).not.toMatch(/(^|[\s'"(:])\/\w/);
    expect(message).not.toContain(server.uploadDir);
    expect(message).toContain('the upload');
  });
});

describe('an ffmpeg error naming other server files', () => {
  it('reaches the client with the paths and addresses left out', async () => {
    const exe = join(secrets.path, 'chatty-ffmpeg');
    await writeFile(exe, `#!/bin/sh\necho "[mov @ 0x55d0c0a1b2c0] could not open '/srv/media/private/other.mp4'" >&2\necho "Error opening input file:/srv/media/private/other.mp4." >&2\nexit 1\n`);
    await chmod(exe, 0o755);
    const chatty = await injectApp(root, 'chatty', { FFMPEG_PATH: exe });
    try {
      const body = await form([['audio', { data: Buffer.concat([Buffer.from('OggS'), Buffer.alloc(100)]), filename: 'a.ogg', type: 'audio/ogg' }]]);
      const response = await chatty.app.inject({ method: 'POST', url: '/transcribe', payload: body.payload, headers: { 'content-type': body.contentType } });
      expect(response.statusCode, response.body).toBe(422);
      const { message } = response.json().error as { message: string };
      expect(message).toMatch(/could not open 'a server path'/);
      expect(message).not.toMatch(/\/srv|private|0x[0-9a-f]{4,}/);
    } finally {
      await chatty.close();
    }
  });
});
