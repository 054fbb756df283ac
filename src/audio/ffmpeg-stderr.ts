import type { AudioDecodeErrorCode } from './errors.js';

const HEAD_LIMIT = 32 * 1024;
const TAIL_LIMIT = 8 * 1024;

/**
 * Keeps ffmpeg's stderr bounded: the head holds the input description we parse for source info,
 * the tail holds the error lines printed last. A decoder spewing warnings for an hour must not
 * grow memory without bound.
 */
export class BoundedStderr {
  private head = '';
  private tail = '';

  append(chunk: Buffer | string): void {
    const text = chunk.toString();
    if (this.head.length < HEAD_LIMIT) {
      const room = HEAD_LIMIT - this.head.length;
      this.head += text.slice(0, room);
      if (text.length <= room) return;
      this.tail += text.slice(room);
    } else {
      this.tail += text;
    }
    if (this.tail.length > TAIL_LIMIT) this.tail = this.tail.slice(-TAIL_LIMIT);
  }

  get text(): string {
    return this.tail === '' ? this.head : `${this.head}\n...\n${this.tail}`;
  }
}

export interface FfmpegInputInfo {
  container?: string;
  codec?: string;
  sampleRate?: number;
  channels?: number;
}

const LAYOUT_CHANNELS: Readonly<Record<string, number>> = {
  mono: 1,
  stereo: 2,
  '2.1': 3,
  '3.0': 3,
  quad: 4,
  '4.0': 4,
  '4.1': 5,
  '5.0': 5,
  '5.1': 6,
  '6.0': 6,
  '6.1': 7,
  '7.0': 7,
  '7.1': 8,
};

function channelsFromLayout(layout: string): number | undefined {
  const name = layout.trim().replace(/\(.*\)$/, '');
  const count = /^(\d+) channels/.exec(name)?.[1];
  return count !== undefined ? Number(count) : LAYOUT_CHANNELS[name];
}

/**
 * Reads the source description from ffmpeg's info-level dump, e.g.
 *   Input #0, ogg, from 'file:/x.ogg':
 *     Stream #0:0: Audio: vorbis, 44100 Hz, stereo, fltp, 112 kb/s
 * Only the input section is searched; the output section describes our own 16 kHz mono stream.
 * Best effort: the format of these lines is not a stable interface, so missing fields stay undefined.
 */
export function parseInputInfo(stderr: string): FfmpegInputInfo {
  const inputSection = stderr.split(/^Output #0/m)[0] ?? '';
  const info: FfmpegInputInfo = {};
  const container = /^Input #0, ([^,]+)/m.exec(inputSection)?.[1];
  if (container !== undefined) info.container = container;
  const stream = /^\s*Stream #0:\d+\S*: Audio: ([^,]+), (\d+) Hz, ([^,]+)/m.exec(inputSection);
  if (stream) {
    const codec = stream[1]?.split(' ')[0];
    if (codec) info.codec = codec;
    info.sampleRate = Number(stream[2]);
    const channels = channelsFromLayout(stream[3] ?? '');
    if (channels !== undefined) info.channels = channels;
  }
  return info;
}

// Column-0 lines that belong to the informational dump or are advice, not the error itself.
const NOISE_LINE = /^(Input #|Output #|Stream mapping:|size=|video:|To ignore this|Press \[q\])/;

// ffmpeg names the context that printed a line by its address ("[mp3 @ 0x55d0c...]"): nothing a
// reader can act on, and a look at the server's heap layout for whoever sent the file.
const CONTEXT_ADDRESS = /\s*@\s*0x[0-9a-f]+/gi;
const ANY_ADDRESS = /\b0x[0-9a-f]{6,}\b/gi;
// A container left off the demuxer whitelist: say so, rather than quoting the whole list.
const NOT_ON_WHITELIST = /^\[([\w,]+)\] Format not on whitelist .*$/;

function readable(line: string): string {
  const clean = line.replace(CONTEXT_ADDRESS, '').replace(ANY_ADDRESS, 'an address');
  return clean.replace(NOT_ON_WHITELIST, (_line, format: string) => `the ${format.split(',')[0]} format is not an audio format decoded here`);
}

/**
 * The last few error-looking lines of stderr, for an error message a human can act on; heap
 * addresses are left out.
 */
export function summarizeFfmpegError(stderr: string, maxLines = 3): string {
  const lines = stderr
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !/^\s/.test(line) && !NOISE_LINE.test(line) && line !== '...');
  return lines.slice(-maxLines).map(readable).join('; ').trim();
}

// Messages ffmpeg prints when the input itself is at fault (corrupt, not audio, no audio stream).
const INPUT_FAULT_PATTERNS = [
  /Invalid data found/i,
  /matches no streams/i,
  /does not contain any stream/i,
  /could not find codec parameters/i,
  /moov atom not found/i,
  /Invalid argument/i,
  /End of file/i,
  /Output file is empty/i,
  /No such file/i,
];

export function classifyFfmpegFailure(summary: string): AudioDecodeErrorCode {
  return INPUT_FAULT_PATTERNS.some((pattern) => pattern.test(summary)) ? 'AUDIO_INVALID' : 'AUDIO_DECODER_FAILED';
}
