/**
 * Names the container from its first bytes. Only used for messages and DecodedAudio.source.format:
 * ffmpeg does its own probing, and the extension is never trusted because uploads are often
 * misnamed (".wav" that is really MP3, or no extension at all).
 */
export function sniffContainer(head: Uint8Array): string {
  const ascii = (start: number, length: number): string => {
    let s = '';
    for (let i = start; i < start + length && i < head.length; i++) s += String.fromCharCode(head[i] ?? 0);
    return s;
  };
  const b0 = head[0] ?? 0;
  const b1 = head[1] ?? 0;

  if (ascii(0, 4) === 'RIFF') return ascii(8, 4) === 'WAVE' ? 'wav' : 'riff';
  if (ascii(0, 4) === 'RF64' || ascii(0, 4) === 'BW64') return 'rf64';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 3) === 'ID3') return 'mp3';
  if (ascii(4, 4) === 'ftyp') return 'mp4';
  if (b0 === 0x1a && b1 === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'matroska/webm';
  if (ascii(0, 4) === 'FORM' && (ascii(8, 4) === 'AIFF' || ascii(8, 4) === 'AIFC')) return 'aiff';
  if (ascii(0, 4) === 'caff') return 'caf';
  if (ascii(0, 5) === '#!AMR') return 'amr';
  if (ascii(0, 4) === '.snd') return 'au';
  // ADTS AAC has sync 0xFFF with layer bits 00; MPEG audio frames have sync 0xFFE and a non-zero layer.
  if (b0 === 0xff && (b1 & 0xf6) === 0xf0) return 'aac';
  if (b0 === 0xff && (b1 & 0xe0) === 0xe0 && (b1 & 0x06) !== 0) return 'mp3';
  return 'unknown';
}
