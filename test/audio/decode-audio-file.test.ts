import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeAudioFile, isFfmpegAvailable, type AudioDecodeErrorCode } from '../../src/audio/index.js';
import { ascii, buildWav, concatBytes, fmtChunk, riff, sine } from './helpers/wav-builder.js';
import { toneAmplitude, zeroCrossingFrequency } from './helpers/signal-analysis.js';
import { isRunning } from '../helpers/processes.js';

const run = promisify(execFile);
const FFMPEG = await isFfmpegAvailable();
if (!FFMPEG) console.warn('[audio tests] ffmpeg is not on PATH: the ffmpeg decoding tests are skipped (CI installs ffmpeg, so they run there)');

let dir: string;
const path = (name: string): string => join(dir, name);

async function expectRejection(promise: Promise<unknown>, code: AudioDecodeErrorCode, message: RegExp): Promise<AudioDecodeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a rejection').toBeInstanceOf(AudioDecodeError);
  const e = error as AudioDecodeError;
  expect({ code: e.code, message: e.message }).toEqual({ code, message: expect.stringMatching(message) });
  return e;
}

/**
 * An executable standing in for ffmpeg that records its pid (exec keeps the pid) and then runs
 * the real ffmpeg, optionally with extra leading options such as -re (read at real-time speed, so
 * a decode takes as long as the audio and can be interrupted).
 */
async function pidRecordingFfmpeg(name: string, extraArgs = ''): Promise<{ exe: string; pidFile: string }> {
  const exe = path(name);
  const pidFile = path(`${name}.pid`);
  await writeFile(exe, `#!/bin/sh\necho $$ > '${pidFile}'\nexec ffmpeg ${extraArgs} "$@"\n`);
  await chmod(exe, 0o755);
  return { exe, pidFile };
}

async function readPid(pidFile: string): Promise<number> {
  return Number((await readFile(pidFile, 'utf8')).trim());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'talk2me-audio-'));
  const tone = sine(440, 44100, 2, 0.5);
  await writeFile(path('source.wav'), buildWav([tone, tone], { sampleRate: 44100, encoding: 'int', bitsPerSample: 16 }));
  await writeFile(path('garbage.bin'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
  await writeFile(path('empty.ogg'), new Uint8Array(0));
  await writeFile(path('fake.ogg'), concatBytes(ascii('OggS'), new Uint8Array(200)));
  await writeFile(
    path('mulaw.wav'),
    riff([fmtChunk({ formatTag: 7, channels: 1, sampleRate: 8000, bitsPerSample: 8 }), { id: 'data', body: new Uint8Array(8000).fill(0xff) }]),
  );
  if (FFMPEG) {
    const convert = (args: string[]) => run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', path('source.wav'), ...args]);
    await Promise.all([
      convert([path('tone.flac')]),
      convert(['-c:a', 'libvorbis', path('tone.ogg')]),
      convert(['-c:a', 'libmp3lame', path('tone.mp3')]),
      convert(['-ar', '8000', '-ac', '1', '-c:a', 'pcm_mulaw', path('tone-mulaw.wav')]),
    ]);
    await copyFile(path('tone.flac'), path('flac-content.wav'));
  }
  await copyFile(path('source.wav'), path('wav-content.mp3'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeAudioFile: native WAV path', () => {
  it('decodes WAV natively by content, whatever the extension, without starting ffmpeg', async () => {
    const { exe, pidFile } = await pidRecordingFfmpeg('native-check');
    const decoded = await decodeAudioFile(path('wav-content.mp3'), { ffmpegPath: exe });
    expect(decoded.source).toEqual({ format: 'wav/pcm_s16le', sampleRate: 44100, channels: 2, bitsPerSample: 16 });
    expect(decoded.pcm.length).toBe(32000);
    expect(decoded.durationS).toBe(2);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('applies maxDurationS to WAV files', async () => {
    await expectRejection(decodeAudioFile(path('source.wav'), { maxDurationS: 1.5 }), 'AUDIO_TOO_LONG', /2\.0 s long; the limit is 1\.5 s/);
  });

  it('reports a missing file, a directory and an empty file clearly', async () => {
    await expectRejection(decodeAudioFile(path('nope.wav')), 'AUDIO_INVALID', /Cannot read audio file '.*nope\.wav': no such file/);
    await expectRejection(decodeAudioFile(dir), 'AUDIO_INVALID', /not a regular file/);
    await expectRejection(decodeAudioFile(path('empty.ogg')), 'AUDIO_EMPTY', /is empty \(0 bytes\)/);
  });

  it('rejects with ABORTED when the signal has already fired', async () => {
    await expectRejection(decodeAudioFile(path('source.wav'), { signal: AbortSignal.abort() }), 'ABORTED', /aborted/);
  });
});

describe('decodeAudioFile without a usable ffmpeg', () => {
  const noFfmpeg = { ffmpegPath: '/nonexistent/ffmpeg' };

  it('says ffmpeg is needed for a non-WAV format', async () => {
    await expectRejection(decodeAudioFile(path('fake.ogg'), noFfmpeg), 'AUDIO_UNSUPPORTED_FORMAT', /ffmpeg is needed to decode ogg audio/);
  });

  it('names the WAV encoding it cannot decode natively (mu-law)', async () => {
    await expectRejection(decodeAudioFile(path('mulaw.wav'), noFfmpeg), 'AUDIO_UNSUPPORTED_FORMAT', /mu-law.*install ffmpeg/);
  });

  it('isFfmpegAvailable is false for a missing binary and for one that fails', async () => {
    const failing = path('failing-ffmpeg');
    await writeFile(failing, '#!/bin/sh\nexit 3\n');
    await chmod(failing, 0o755);
    expect(await isFfmpegAvailable('/nonexistent/ffmpeg')).toBe(false);
    expect(await isFfmpegAvailable(failing)).toBe(false);
  });
});

describe('decodeAudioFile with a scripted stand-in for ffmpeg', () => {
  it('reassembles float samples split across pipe chunks at arbitrary byte boundaries', async () => {
    const exe = path('chunking-ffmpeg');
    // Writes 8 floats as 32 bytes in pieces of 1, 2, 3, 5, 7, 4, 6 and 4 bytes, each in its own
    // pipe write, so several samples straddle chunk boundaries.
    await writeFile(
      exe,
      `#!${process.execPath}
const values = [0.5, -0.25, 1, -1, 0.125, 3, Number.NaN, -0.75];
const bytes = Buffer.alloc(values.length * 4);
values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
process.stderr.write("Input #0, fakefmt, from 'x':\\n  Stream #0:0: Audio: pcm_test, 22050 Hz, 5.1(side), s16\\n");
const sizes = [1, 2, 3, 5, 7, 4, 6, 4];
let offset = 0;
const next = () => {
  const size = sizes.shift();
  if (size === undefined) return;
  process.stdout.write(bytes.subarray(offset, offset + size), () => setTimeout(next, 15));
  offset += size;
};
next();
`,
    );
    await chmod(exe, 0o755);
    const decoded = await decodeAudioFile(path('garbage.bin'), { ffmpegPath: exe });
    // 3 is clamped to full scale; NaN from a decoder becomes silence.
    expect(Array.from(decoded.pcm)).toEqual([0.5, -0.25, 1, -1, 0.125, 1, 0, -0.75]);
    expect(decoded.source).toEqual({ format: 'fakefmt/pcm_test', sampleRate: 22050, channels: 6 });
    expect(decoded.durationS).toBe(8 / 16000);
  });

  it('maps a failing decoder to AUDIO_DECODER_FAILED with its stderr in the message', async () => {
    const exe = path('exploding-ffmpeg');
    await writeFile(exe, '#!/bin/sh\necho "Input #0, x" >&2\necho "Conversion failed: something exploded   " >&2\nexit 3\n');
    await chmod(exe, 0o755);
    await expectRejection(
      decodeAudioFile(path('garbage.bin'), { ffmpegPath: exe }),
      'AUDIO_DECODER_FAILED',
      /ffmpeg could not decode the file: Conversion failed: something exploded$/,
    );
  });

  it('stops a decoder that runs past timeoutS with AUDIO_DECODER_FAILED and kills it', async () => {
    const exe = path('hanging-ffmpeg');
    const pidFile = path('hanging-ffmpeg.pid');
    await writeFile(exe, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 60\n`);
    await chmod(exe, 0o755);
    const started = Date.now();
    await expectRejection(decodeAudioFile(path('garbage.bin'), { ffmpegPath: exe, timeoutS: 0.5 }), 'AUDIO_DECODER_FAILED', /longer than the limit of 0\.5 s/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isRunning(await readPid(pidFile))).toBe(false);
    // The caller's own abort is still ABORTED, not the decoder's failure.
    await expectRejection(decodeAudioFile(path('garbage.bin'), { ffmpegPath: exe, timeoutS: 30, signal: AbortSignal.timeout(300) }), 'ABORTED', /aborted/);
  });

  it('runs the decoder at a lowered priority', async () => {
    const exe = path('nice-ffmpeg');
    const niceFile = path('nice-ffmpeg.ni');
    // Reads its niceness once the parent has had time to lower it, then decodes nothing.
    await writeFile(exe, `#!/bin/sh\nsleep 0.5\nps -o ni= -p $$ > '${niceFile}'\nexit 0\n`);
    await chmod(exe, 0o755);
    await expectRejection(decodeAudioFile(path('garbage.bin'), { ffmpegPath: exe }), 'AUDIO_EMPTY', /no audio samples/);
    expect(Number((await readFile(niceFile, 'utf8')).trim())).toBeGreaterThanOrEqual(10);
  });

  it('reports a decoder that succeeds with no output as AUDIO_EMPTY', async () => {
    const exe = path('silent-ffmpeg');
    await writeFile(exe, '#!/bin/sh\nexit 0\n');
    await chmod(exe, 0o755);
    await expectRejection(decodeAudioFile(path('garbage.bin'), { ffmpegPath: exe }), 'AUDIO_EMPTY', /no audio samples/);
  });
});

describe.skipIf(!FFMPEG)('decodeAudioFile through ffmpeg (skipped when ffmpeg is not on PATH)', () => {
  it.each([
    ['tone.flac', 'flac/flac', 0.01],
    ['tone.ogg', 'ogg/vorbis', 0.01],
    // MP3 frames carry encoder delay/padding; allow up to one 1152-sample frame either way.
    ['tone.mp3', 'mp3/mp3', 0.03],
  ])('decodes %s to 16 kHz mono of the right duration and pitch', async (name, format, tolerance) => {
    const decoded = await decodeAudioFile(path(name));
    expect(decoded.sampleRate).toBe(16000);
    expect(Math.abs(decoded.durationS - 2)).toBeLessThanOrEqual(tolerance);
    expect(decoded.source).toEqual({ format, sampleRate: 44100, channels: 2 });
    expect(zeroCrossingFrequency(decoded.pcm, 16000, 4000, 28000)).toBeCloseTo(440, 0);
    expect(toneAmplitude(decoded.pcm, 440, 16000, 4000, 28000)).toBeGreaterThan(0.4);
    expect(decoded.pcm.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  it('sniffs content, not the extension: FLAC named .wav goes to ffmpeg', async () => {
    const decoded = await decodeAudioFile(path('flac-content.wav'));
    expect(decoded.source.format).toBe('flac/flac');
    expect(decoded.durationS).toBeCloseTo(2, 2);
  });

  it('falls back to ffmpeg for a WAV encoding it does not decode natively (mu-law)', async () => {
    const decoded = await decodeAudioFile(path('tone-mulaw.wav'));
    expect(decoded.source).toEqual({ format: 'wav/pcm_mulaw', sampleRate: 8000, channels: 1 });
    expect(decoded.durationS).toBeCloseTo(2, 2);
    expect(zeroCrossingFrequency(decoded.pcm, 16000, 4000, 28000)).toBeCloseTo(440, 0);
  });

  it('rejects a garbage file with AUDIO_INVALID and ffmpeg’s reason', async () => {
    await expectRejection(decodeAudioFile(path('garbage.bin')), 'AUDIO_INVALID', /ffmpeg could not decode the file: .*Invalid data found when processing input/);
  });

  it('enforces maxDurationS while streaming and leaves no ffmpeg behind', async () => {
    const { exe, pidFile } = await pidRecordingFfmpeg('limited-ffmpeg');
    await expectRejection(decodeAudioFile(path('tone.flac'), { ffmpegPath: exe, maxDurationS: 0.5 }), 'AUDIO_TOO_LONG', /longer than the limit of 0\.5 s/);
    expect(isRunning(await readPid(pidFile))).toBe(false);
  });

  it('kills ffmpeg when aborted and rejects with ABORTED', async () => {
    // -re makes ffmpeg take the audio's real duration (2 s), so the abort lands mid-decode.
    const { exe, pidFile } = await pidRecordingFfmpeg('slow-ffmpeg', '-re');
    const controller = new AbortController();
    const started = Date.now();
    const decoding = decodeAudioFile(path('tone.flac'), { ffmpegPath: exe, signal: controller.signal });
    const timer = setTimeout(() => controller.abort(), 400);
    try {
      const error = await expectRejection(decoding, 'ABORTED', /aborted/);
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      clearTimeout(timer);
    }
    expect(Date.now() - started).toBeLessThan(1500);
    const pid = await readPid(pidFile);
    expect(pid).toBeGreaterThan(0);
    expect(isRunning(pid)).toBe(false);
  });
});
