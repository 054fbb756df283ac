// A transcription written out as JSON, plain text, SubRip (SRT) or WebVTT: shared by the CLI and
// the HTTP API so both speak the same formats.
import { deflateSync } from 'node:zlib';

import type { Segment, Transcription } from '../native/index.js';

export const TRANSCRIPT_FORMATS = ['json', 'text', 'srt', 'vtt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

export function isTranscriptFormat(value: string): value is TranscriptFormat {
  return (TRANSCRIPT_FORMATS as readonly string[]).includes(value);
}

export interface TranscriptJson {
  text: string;
  language: string;
  duration_s: number;
  processing_ms: number;
  segments: Array<{ id: number; start: number; end: number; text: string; no_speech_prob: number }>;
}

export function toTranscriptJson(t: Transcription): TranscriptJson {
  return {
    text: t.text,
    language: t.language,
    duration_s: t.durationS,
    processing_ms: Math.round(t.timings.totalMs),
    segments: t.segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text.trim(), no_speech_prob: s.noSpeechProb })),
  };
}

// Made on first use: building it loads ICU's language names, which the CLI's start-up need not wait for.
let languageNames: Intl.DisplayNames | undefined;

/** OpenAI and whisper.cpp's server name the language in verbose JSON ("english"), not by its code. */
function languageName(code: string): string {
  try {
    languageNames ??= new Intl.DisplayNames(['en'], { type: 'language' });
    return (languageNames.of(code) ?? code).toLowerCase();
  } catch {
    return code;
  }
}

/**
 * How repetitive a text is, as OpenAI's whisper measures it: its UTF-8 bytes over their zlib-compressed
 * bytes. A decode stuck in a loop compresses well and scores high; an empty text scores 0.
 */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return 0;
  return bytes.length / deflateSync(bytes).length;
}

function verboseSegment(s: Segment, id: number) {
  // seek and temperature are left out: whisper.cpp does not report them per segment, and a made-up
  // value would mislead a client that scores confidence. avg_logprob is absent for a segment
  // without text tokens, where no mean exists.
  return {
    id,
    start: s.start,
    end: s.end,
    text: s.text,
    tokens: s.tokens,
    ...(s.avgLogprob !== undefined && { avg_logprob: s.avgLogprob }),
    compression_ratio: compressionRatio(s.text),
    no_speech_prob: s.noSpeechProb,
  };
}

/** OpenAI's verbose_json (as whisper.cpp's server also answers it), with what the decode reports; `words` when they were asked for. */
export function toVerboseJson(t: Transcription, task: 'transcribe' | 'translate') {
  return {
    task,
    language: languageName(t.language),
    duration: t.durationS,
    text: t.text,
    segments: t.segments.map(verboseSegment),
    ...(t.words !== undefined && { words: t.words }),
  };
}

/** "HH:MM:SS<sep>mmm" from seconds. */
export function clockTime(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const ms = totalMs % 1000;
  const s = Math.floor(totalMs / 1000) % 60;
  const m = Math.floor(totalMs / 60_000) % 60;
  const h = Math.floor(totalMs / 3_600_000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(h)}:${two(m)}:${two(s)}${separator}${String(ms).padStart(3, '0')}`;
}

// A cue's text may not contain a blank line (it would end the cue) nor, in WebVTT, "-->".
function cueText(text: string): string {
  return text.trim().replace(/\n\s*\n/g, '\n').replace(/-->/g, '->');
}

export function toSrt(t: Transcription): string {
  return t.segments
    .map((s, i) => `${i + 1}\n${clockTime(s.start, ',')} --> ${clockTime(s.end, ',')}\n${cueText(s.text)}\n`)
    .join('\n');
}

export function toVtt(t: Transcription): string {
  const cues = t.segments.map((s) => `${clockTime(s.start, '.')} --> ${clockTime(s.end, '.')}\n${cueText(s.text)}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

export function formatTranscript(t: Transcription, format: TranscriptFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(toTranscriptJson(t), null, 2)}\n`;
    case 'text':
      return `${t.text}\n`;
    case 'srt':
      return toSrt(t);
    case 'vtt':
      return toVtt(t);
  }
}
