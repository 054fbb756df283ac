// A transcript as plain text, SubRip or WebVTT, made in the page from the JSON POST /transcribe
// answered. The server writes the same formats (src/transcript/formats.ts) and this matches it
// byte for byte (test/web/transcript-formats.test.ts holds them together); asking the server for
// them instead would run whisper over the audio once more for every download.

export interface Segment {
  start: number;
  end: number;
  text: string;
}

export interface Transcript {
  text: string;
  segments: Segment[];
}

export type DownloadFormat = 'txt' | 'srt' | 'vtt';

/** "HH:MM:SS<sep>mmm" from seconds. */
export function clockTime(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(totalMs / 3_600_000))}:${two(Math.floor(totalMs / 60_000) % 60)}:${two(Math.floor(totalMs / 1000) % 60)}${separator}${String(totalMs % 1000).padStart(3, '0')}`;
}

// A cue's text may not hold a blank line (it would end the cue) nor, in WebVTT, "-->".
const cueText = (text: string): string => text.trim().replace(/\n\s*\n/g, '\n').replace(/-->/g, '->');

const cue = (s: Segment, separator: ',' | '.'): string => `${clockTime(s.start, separator)} --> ${clockTime(s.end, separator)}\n${cueText(s.text)}\n`;

export function formatTranscript(t: Transcript, format: DownloadFormat): string {
  if (format === 'txt') return `${t.text}\n`;
  if (format === 'srt') return t.segments.map((s, i) => `${i + 1}\n${cue(s, ',')}`).join('\n');
  return ['WEBVTT\n', ...t.segments.map((s) => cue(s, '.'))].join('\n');
}

export const MIME_TYPES: Record<DownloadFormat, string> = {
  txt: 'text/plain;charset=utf-8',
  srt: 'application/x-subrip;charset=utf-8',
  vtt: 'text/vtt;charset=utf-8',
};
