// The page's txt / srt / vtt downloads match, byte for byte, what the server writes for
// response_format=text/srt/vtt from the same transcription (src/transcript/formats.ts).
import { describe, expect, it } from 'vitest';

import type { Transcription } from '../../src/native/index.js';
import { formatTranscript as serverFormat, toTranscriptJson } from '../../src/transcript/formats.js';
import { clockTime, formatTranscript } from '../../web/src/transcript-formats.js';

const transcription: Transcription = {
  text: ' Hello there. General Kenobi!\n\nYou are --> a bold one.',
  language: 'en',
  durationS: 3725.5,
  timings: { totalMs: 812 } as Transcription['timings'],
  segments: [
    { start: 0, end: 1.2345, text: ' Hello there.', noSpeechProb: 0.01, tokens: [] },
    { start: 1.2345, end: 59.9996, text: ' General Kenobi!\n\n', noSpeechProb: 0.02, tokens: [] },
    { start: 3599.5, end: 3725.5, text: ' You are --> a bold one.\n \nIndeed.', noSpeechProb: 0.03, tokens: [] },
  ],
};

describe('transcript formats in the page', () => {
  // What the page has: the JSON POST /transcribe answers.
  const json = JSON.parse(JSON.stringify(toTranscriptJson(transcription))) as ReturnType<typeof toTranscriptJson>;

  it.each([
    ['txt', 'text'],
    ['srt', 'srt'],
    ['vtt', 'vtt'],
  ] as const)('%s equals the server’s %s', (page, server) => {
    expect(formatTranscript(json, page)).toBe(serverFormat(transcription, server));
  });

  it('writes the cues it should', () => {
    expect(formatTranscript(json, 'srt')).toBe(
      '1\n00:00:00,000 --> 00:00:01,235\nHello there.\n\n' +
        '2\n00:00:01,235 --> 00:01:00,000\nGeneral Kenobi!\n\n' +
        '3\n00:59:59,500 --> 01:02:05,500\nYou are -> a bold one.\nIndeed.\n',
    );
    expect(formatTranscript(json, 'vtt').startsWith('WEBVTT\n\n00:00:00.000 --> 00:00:01.235\nHello there.\n')).toBe(true);
    expect(clockTime(-1, '.')).toBe('00:00:00.000');
  });

  it('an empty transcript is an empty SRT and a bare WebVTT header', () => {
    const empty = { text: '', segments: [] };
    expect(formatTranscript(empty, 'srt')).toBe('');
    expect(formatTranscript(empty, 'vtt')).toBe('WEBVTT\n');
    expect(formatTranscript(empty, 'txt')).toBe('\n');
  });
});
