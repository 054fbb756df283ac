import { describe, expect, it } from 'vitest';

import type { Transcription } from '../../src/native/index.js';
import { clockTime, compressionRatio, formatTranscript, toTranscriptJson, toVerboseJson } from '../../src/transcript/formats.js';

const transcription: Transcription = {
  text: 'Hello there. General --> Kenobi.',
  segments: [
    { start: 0, end: 1.5, text: ' Hello there.', noSpeechProb: 0.01, tokens: [] },
    { start: 1.5, end: 3723.0456, text: ' General --> Kenobi.\n\n', noSpeechProb: 0.02, tokens: [] },
  ],
  language: 'en',
  durationS: 3724,
  timings: { melMs: 1, encodeMs: 2, decodeMs: 3, totalMs: 6.4 },
};

describe('transcript formats', () => {
  it('writes clock times with hours, minutes, seconds and milliseconds', () => {
    expect(clockTime(0, ',')).toBe('00:00:00,000');
    expect(clockTime(3723.0456, '.')).toBe('01:02:03.046');
    expect(clockTime(-1, ',')).toBe('00:00:00,000');
  });

  it('writes SRT cues numbered from 1, without blank lines inside a cue', () => {
    expect(formatTranscript(transcription, 'srt')).toBe(
      '1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:01,500 --> 01:02:03,046\nGeneral -> Kenobi.\n',
    );
  });

  it('writes WebVTT with its header and no "-->" inside cue text', () => {
    expect(formatTranscript(transcription, 'vtt')).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n00:00:01.500 --> 01:02:03.046\nGeneral -> Kenobi.\n',
    );
  });

  it('writes text and JSON', () => {
    expect(formatTranscript(transcription, 'text')).toBe('Hello there. General --> Kenobi.\n');
    const json = JSON.parse(formatTranscript(transcription, 'json'));
    expect(json).toEqual(toTranscriptJson(transcription));
    expect(json).toMatchObject({ language: 'en', duration_s: 3724, processing_ms: 6, segments: [{ id: 0, text: 'Hello there.' }, { id: 1 }] });
  });
});

describe('verbose_json', () => {
  it('measures compression as OpenAI\'s whisper does: UTF-8 bytes over zlib bytes, higher for repetition', () => {
    expect(compressionRatio('')).toBe(0);
    const varied = compressionRatio(' The quick brown fox jumps over the lazy dog.');
    const looping = compressionRatio(' the the the the the the the the the the the the the the the the');
    expect(varied).toBeGreaterThan(0);
    expect(looping).toBeGreaterThan(2 * varied);
  });

  it('leaves out avg_logprob where a segment has no text tokens, and words unless asked for', () => {
    const verbose = toVerboseJson(transcription, 'transcribe');
    expect(verbose.segments[0]).not.toHaveProperty('avg_logprob');
    expect(verbose).not.toHaveProperty('words');
    const words = [{ word: 'Hello', start: 0, end: 0.5 }];
    const withWords = toVerboseJson({ ...transcription, segments: [{ ...transcription.segments[0]!, tokens: [1, 2], avgLogprob: -0.5, words }], words }, 'transcribe');
    expect(withWords.segments[0]).toMatchObject({ tokens: [1, 2], avg_logprob: -0.5 });
    expect(withWords.words).toEqual(words);
  });
});
