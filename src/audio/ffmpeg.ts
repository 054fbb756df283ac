import { getPriority, setPriority } from 'node:os';
import { resolve as resolvePath } from 'node:path';

import { spawnPiped, type PipedChild } from '../native/child-process.js';
import { clampToUnitRange } from './resample.js';
import { WHISPER_SAMPLE_RATE } from './constants.js';
import { resolveMaxDurationS, tooLongError } from './duration-limit.js';
import { AudioDecodeError, abortedError } from './errors.js';
import { F32leCollector } from './f32le-collector.js';
import { BoundedStderr, classifyFfmpegFailure, parseInputInfo, summarizeFfmpegError } from './ffmpeg-stderr.js';
import type { DecodedAudio, DecodeFileOptions } from './types.js';

const DEFAULT_FFMPEG = 'ffmpeg';
const PROBE_TIMEOUT_MS = 10_000;
/** The niceness of a decoding ffmpeg (or the server's, if that is lower still): behind whisper's threads, ahead of idle work. */
const DECODE_NICENESS = 10;

/**
 * True when `ffmpegPath` (default: "ffmpeg" on PATH) runs and exits 0 for `-version`. Never
 * rejects; a binary that hangs counts as unavailable after 10 s and is killed.
 */
export function isFfmpegAvailable(ffmpegPath: string = DEFAULT_FFMPEG): Promise<boolean> {
  return new Promise((resolve) => {
    let child: PipedChild;
    try {
      child = spawnPiped(ffmpegPath, ['-hide_banner', '-version']);
    } catch {
      resolve(false); // not found, not executable, an empty path or one containing NUL
      return;
    }
    child.stdout.resume();
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.once('error', () => undefined);
    child.once('close', (code: number | null) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

export interface FfmpegDecodeOptions extends DecodeFileOptions {
  /** What the caller sniffed from the first bytes (e.g. "ogg"), for messages and source.format. */
  containerHint?: string;
}

/**
 * The demuxers ffmpeg may use (names as `ffmpeg -demuxers` lists them; "matroska" also admits
 * webm and "mov" mp4/m4a/3gp): audio and audio/video containers that read their own bytes only.
 * Left out on purpose: playlists and scripts that open other inputs (hls, dash, concat, sdp, rtp,
 * rtsp, image2, lavfi...), and everything else nobody uploads for transcription.
 */
export const AUDIO_DEMUXERS: readonly string[] = [
  'wav', 'w64', 'mp3', 'ogg', 'flac', 'matroska', 'mov', 'aac', 'ac3', 'eac3', 'dts', 'amr', 'amrnb', 'amrwb',
  'aiff', 'caf', 'au', 'asf', 'ape', 'wv', 'tta', 'mpc', 'voc', 'avi', 'flv', 'mpeg', 'mpegts',
];

/** The argument vector; an array, never a shell string, so no path can inject anything. */
export function ffmpegArgs(filePath: string): string[] {
  return [
    '-nostdin',
    '-hide_banner',
    '-nostats',
    // "info" rather than "error" so the input description (rate, channels, codec) is printed;
    // error lines are picked out of it by summarizeFfmpegError.
    '-loglevel',
    'info',
    // ffmpeg reads the upload and nothing else: only the file protocol (no network, no pipes,
    // no "concat:" or "subfile,") and only containers that do not point elsewhere, for the input
    // and for anything a demuxer might try to open from it. The upload cannot be handed over as
    // an fd or on stdin (the child gets /dev/null as stdin), so the protocol is file, narrowed by
    // the demuxer list to this one file.
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    AUDIO_DEMUXERS.join(','),
    // One decoding thread: decoding runs beside transcriptions and must not compete for their cores.
    '-threads',
    '1',
    // The file: protocol prefix stops a name like "-x" from reading as an option and a name like
    // "http://..." or "concat:..." from making ffmpeg open anything but this local file.
    '-i',
    `file:${resolvePath(filePath)}`,
    '-map',
    '0:a:0',
    '-f',
    'f32le',
    '-acodec',
    'pcm_f32le',
    '-ac',
    '1',
    '-ar',
    String(WHISPER_SAMPLE_RATE),
    'pipe:1',
  ];
}

function ffmpegMissingError(ffmpegPath: string, containerHint: string | undefined): AudioDecodeError {
  const what = containerHint === undefined || containerHint === 'unknown' ? 'non-WAV audio' : `${containerHint} audio`;
  return new AudioDecodeError(
    'AUDIO_UNSUPPORTED_FORMAT',
    `ffmpeg is needed to decode ${what} but '${ffmpegPath}' could not be run; install ffmpeg or upload WAV`,
  );
}

/**
 * Decodes any file ffmpeg understands to 16 kHz mono float PCM by streaming its f32le output.
 *
 * Lifecycle guarantee: the promise settles only after the child has exited (its 'close' event),
 * and every failure path (abort, too long, stream error) kills it first, so no ffmpeg process
 * outlives the call. Samples are clamped to [-1, 1] and any NaN from a misbehaving decoder is
 * replaced by silence: unlike a float WAV, where NaN proves the file is corrupt, here it would be
 * an artefact of the decoder and not worth failing a whole transcription over.
 */
export function decodeWithFfmpeg(filePath: string, options: FfmpegDecodeOptions = {}): Promise<DecodedAudio> {
  const { signal, containerHint } = options;
  const ffmpegPath = options.ffmpegPath ?? DEFAULT_FFMPEG;
  const maxDurationS = resolveMaxDurationS(options.maxDurationS);
  const maxSamples = Math.ceil(maxDurationS * WHISPER_SAMPLE_RATE);

  return new Promise<DecodedAudio>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }

    // Started without fork(), so the model's buffers in this process stay out of copy-on-write.
    let child: PipedChild;
    try {
      child = spawnPiped(ffmpegPath, ffmpegArgs(filePath));
    } catch {
      reject(ffmpegMissingError(ffmpegPath, containerHint)); // not found, not executable, an empty path or one containing NUL
      return;
    }

    // Below the server's own priority: decoding takes only the CPU that transcriptions leave.
    // Best effort (the child may already be gone); posix_spawn has no priority of its own to give.
    try {
      setPriority(child.pid, Math.max(getPriority(), DECODE_NICENESS));
    } catch {
      // not lowered: the decode still runs, at normal priority
    }

    const stderr = new BoundedStderr();
    const collector = new F32leCollector(maxSamples);
    let failure: AudioDecodeError | undefined;
    let settled = false;

    const killChild = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    // Records the first failure and stops ffmpeg; the promise rejects once 'close' confirms the exit.
    const fail = (error: AudioDecodeError): void => {
      failure ??= error;
      killChild();
    };
    const onAbort = (): void => fail(abortedError(signal));
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      action();
    };

    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return;
      if (!collector.push(chunk)) fail(tooLongError(undefined, maxDurationS));
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.append(chunk));
    const onStreamError = (error: Error): void =>
      fail(new AudioDecodeError('AUDIO_DECODER_FAILED', `Reading ffmpeg output failed: ${error.message}`, { cause: error }));
    child.stdout.on('error', onStreamError);
    child.stderr.on('error', onStreamError);

    child.on('error', (error: Error) => {
      fail(new AudioDecodeError('AUDIO_DECODER_FAILED', `ffmpeg process error: ${error.message}`, { cause: error }));
    });

    child.on('close', (code: number | null, exitSignal: NodeJS.Signals | null) => {
      settle(() => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        const log = stderr.text;
        if (code !== 0) {
          const summary = exitSignal
            ? `ffmpeg was killed by ${exitSignal}`
            : summarizeFfmpegError(log) || `ffmpeg exited with code ${code}`;
          const target = containerHint && containerHint !== 'unknown' ? ` (${containerHint})` : '';
          reject(new AudioDecodeError(classifyFfmpegFailure(summary), `ffmpeg could not decode the file${target}: ${summary}`));
          return;
        }
        const pcm = collector.finish();
        if (pcm.length === 0) {
          reject(new AudioDecodeError('AUDIO_EMPTY', 'The file decoded to no audio samples'));
          return;
        }
        for (let i = 0; i < pcm.length; i++) if (Number.isNaN(pcm[i])) pcm[i] = 0;
        clampToUnitRange(pcm);

        const info = parseInputInfo(log);
        const container = containerHint && containerHint !== 'unknown' ? containerHint : (info.container ?? 'unknown');
        resolve({
          pcm,
          sampleRate: WHISPER_SAMPLE_RATE,
          durationS: pcm.length / WHISPER_SAMPLE_RATE,
          source: {
            format: info.codec === undefined ? container : `${container}/${info.codec}`,
            sampleRate: info.sampleRate ?? 0,
            channels: info.channels ?? 0,
          },
        });
      });
    });
  });
}
