// Uploads that are lists of other things to open (HLS playlists, ffconcat scripts, SDP, PLS, XML
// manifests) are refused before ffmpeg starts, and ffmpeg itself is started so that it could not
// follow one if the sniffing were fooled: it reads the one file it is given and nothing it names.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AudioDecodeError, decodeAudioFile, isFfmpegAvailable } from '../../src/audio/index.js';
import { decodeWithFfmpeg } from '../../src/audio/ffmpeg.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const FFMPEG = await isFfmpegAvailable();

let dir: { path: string; remove: () => Promise<void> };
const path = (name: string): string => join(dir.path, name);

/** An HLS playlist that plays `target` (an absolute path) as its one segment. */
const hls = (target: string): string => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${target}\n#EXT-X-ENDLIST\n`;

/** A stand-in for ffmpeg that writes its arguments, one a line, to a file and then runs ffmpeg. */
async function argvRecordingFfmpeg(name: string): Promise<{ exe: string; argvFile: string }> {
  const exe = path(name);
  const argvFile = path(`${name}.argv`);
  await writeFile(exe, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\nexec ffmpeg "$@"\n`);
  await chmod(exe, 0o755);
  return { exe, argvFile };
}

async function rejection(promise: Promise<unknown>): Promise<AudioDecodeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a rejection').toBeInstanceOf(AudioDecodeError);
  return error as AudioDecodeError;
}

beforeAll(async () => {
  dir = await tempDir('manifests');
  if (FFMPEG) {
    await run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=440:d=2', path('secret.mp3')]);
  }
});

afterAll(async () => {
  await dir?.remove();
});

const utf16le = (text: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

const manifests: Array<{ name: string; bytes: () => Buffer; kind: RegExp }> = [
  { name: 'an HLS playlist named .wav', bytes: () => Buffer.from(hls(path('secret.mp3'))), kind: /M3U\/HLS playlist/ },
  { name: 'an HLS playlist after a UTF-8 byte-order mark', bytes: () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(hls(path('secret.mp3')))]), kind: /M3U\/HLS playlist/ },
  { name: 'an HLS playlist after a few junk bytes', bytes: () => Buffer.concat([Buffer.from([0x00, 0x13, 0x9a, 0xfe, 0x07]), Buffer.from(hls(path('secret.mp3')))]), kind: /M3U\/HLS playlist/ },
  { name: 'an HLS playlist in UTF-16', bytes: () => utf16le(hls(path('secret.mp3'))), kind: /M3U\/HLS playlist/ },
  { name: 'a bare M3U', bytes: () => Buffer.from(`#EXTM3U\n${path('secret.mp3')}\n`), kind: /M3U\/HLS playlist/ },
  { name: 'an ffconcat script', bytes: () => Buffer.from(`ffconcat version 1.0\nfile '${path('secret.mp3')}'\n`), kind: /ffconcat script/ },
  { name: 'an SDP description', bytes: () => Buffer.from('v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nm=audio 5004 RTP/AVP 0\r\n'), kind: /SDP/ },
  { name: 'a PLS playlist', bytes: () => Buffer.from(`\n[playlist]\nFile1=file://${path('secret.mp3')}\nNumberOfEntries=1\n`), kind: /PLS playlist/ },
  { name: 'a DASH manifest', bytes: () => Buffer.from('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>\n'), kind: /XML/ },
  { name: 'a DASH manifest after junk', bytes: () => Buffer.concat([Buffer.from([0x01, 0x02]), Buffer.from('<MPD type="static"></MPD>')]), kind: /DASH manifest/ },
  { name: 'a SMIL document', bytes: () => Buffer.from(`  <smil><body><audio src="file://${path('secret.mp3')}"/></body></smil>`), kind: /XML/ },
  { name: 'an ASX playlist', bytes: () => Buffer.from(`<ASX version="3.0"><Entry><Ref href="file://${path('secret.mp3')}"/></Entry></ASX>`), kind: /XML/ },
];

describe('text manifests are refused before ffmpeg starts', () => {
  it.each(manifests)('$name', async ({ name, bytes, kind }) => {
    const file = path(`${name.replace(/\W+/g, '-')}.wav`);
    await writeFile(file, bytes());
    const { exe, argvFile } = await argvRecordingFfmpeg(`ffmpeg-for-${name.replace(/\W+/g, '-')}`);
    const error = await rejection(decodeAudioFile(file, { ffmpegPath: exe }));
    expect(error.code).toBe('AUDIO_UNSUPPORTED_FORMAT');
    expect(error.message).toMatch(kind);
    expect(error.message).toMatch(/not audio/);
    expect(existsSync(argvFile), 'ffmpeg was started').toBe(false);
  });

  it('answers the same for a playlist naming an existing file and one naming a missing file', async () => {
    await writeFile(path('to-existing.wav'), hls(path('secret.mp3')));
    await writeFile(path('to-missing.wav'), hls(path('missing.mp3')));
    const [existing, missing] = await Promise.all([rejection(decodeAudioFile(path('to-existing.wav'))), rejection(decodeAudioFile(path('to-missing.wav')))]);
    expect({ code: missing.code, message: missing.message.replaceAll('to-missing', 'X') }).toEqual({
      code: existing.code,
      message: existing.message.replaceAll('to-existing', 'X'),
    });
  });
});

describe.skipIf(!FFMPEG)('ffmpeg reads the one file it is given (skipped when ffmpeg is not on PATH)', () => {
  it('is started with the file protocol only and audio demuxers only', async () => {
    const { exe, argvFile } = await argvRecordingFfmpeg('recording-ffmpeg');
    const decoded = await decodeAudioFile(path('secret.mp3'), { ffmpegPath: exe });
    expect(decoded.durationS).toBeCloseTo(2, 1);
    const argv = (await readFile(argvFile, 'utf8')).trimEnd().split('\n');
    const input = argv.indexOf('-i');
    const optionBeforeInput = (name: string): string | undefined => {
      const at = argv.indexOf(name);
      return at >= 0 && at < input ? argv[at + 1] : undefined;
    };
    expect(optionBeforeInput('-protocol_whitelist')).toBe('file');
    const demuxers = optionBeforeInput('-format_whitelist')?.split(',') ?? [];
    expect(demuxers).toEqual(expect.arrayContaining(['wav', 'mp3', 'ogg', 'flac', 'matroska', 'mov']));
    for (const follower of ['hls', 'concat', 'dash', 'sdp', 'rtp', 'rtsp', 'image2', 'lavfi', 'ffmetadata']) expect(demuxers).not.toContain(follower);
    expect(optionBeforeInput('-threads')).toBe('1');
  });

  it('does not follow a playlist even when handed one directly', async () => {
    // Past the sniffing (decodeWithFfmpeg is what decodeAudioFile calls after it): the whitelists alone.
    await writeFile(path('direct.m3u8'), hls(path('secret.mp3')));
    await writeFile(path('direct.ffconcat'), `ffconcat version 1.0\nfile '${path('secret.mp3')}'\n`);
    for (const file of [path('direct.m3u8'), path('direct.ffconcat')]) {
      const error = await rejection(decodeWithFfmpeg(file));
      expect(error.code).toBe('AUDIO_INVALID');
    }
  });
});
