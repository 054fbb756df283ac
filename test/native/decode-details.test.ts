// What the decode reports beyond segment times, through WhisperModel on real whisper.cpp inference
// with the speech-like synthetic model (src/model/speechlike.ts), so the decoder works as it does
// on speech and every figure is known in advance: text tokens and their mean log probability, word
// timestamps, and the onSegment / onProgress callbacks while whisper works.
import { describe, expect, it } from 'vitest';

import { SPEECHLIKE_SEGMENT_SECONDS, SPEECHLIKE_SEGMENTS_PER_WINDOW, SPEECHLIKE_TOKENS_PER_SEGMENT } from '../../src/model/speechlike.js';
import { speechlikeScript } from '../../src/model/synthetic.js';
import { WhisperModel, type Segment } from '../../src/native/index.js';
import { syllableTones } from '../helpers/signals.js';
import { useSyntheticModel } from '../helpers/synthetic-model.js';

const fixture = useSyntheticModel('mini', 'decode-details', 'speechlike');
const script = speechlikeScript('mini');
const short = syllableTones(4);
// Past one 30 s window: whisper decodes the window's six 5 s segments, then two more (30-35 and
// 35-36 s) in a second window that starts where the first one's last timestamp ended.
const long = syllableTones(36);
const LONG_SEGMENTS = SPEECHLIKE_SEGMENTS_PER_WINDOW + 2;
const once = { temperatureIncrement: 0 };

describe('tokens and avg log probability', () => {
  it("each segment has the text tokens whisper decoded, as integer ids, and their mean log probability", async () => {
    await using model = await WhisperModel.load(fixture.path, { threads: 2 });
    const result = await model.transcribe(short);
    // A clip shorter than one 5 s segment: one segment, the script's first words.
    expect(result.segments.map((s) => [s.start, s.end])).toEqual([[0, 4]]);
    const [segment] = result.segments as [Segment];
    expect(segment.tokens).toHaveLength(SPEECHLIKE_TOKENS_PER_SEGMENT);
    expect(segment.tokens).toEqual(script.segments[0]);
    for (const token of segment.tokens) expect(Number.isInteger(token) && token >= 0).toBe(true);
    // The script's words win by a wide margin: near 0, never above it.
    expect(segment.avgLogprob).toBeLessThanOrEqual(0);
    expect(segment.avgLogprob).toBeGreaterThan(-1);
    expect(segment.text.trim().split(/\s+/)).toHaveLength(SPEECHLIKE_TOKENS_PER_SEGMENT);
    expect(segment.words).toBeUndefined();
    expect(result.words).toBeUndefined();
  });
});

describe('word timestamps', () => {
  it('gives words inside their segment, in order, that spell the segment', async () => {
    await using model = await WhisperModel.load(fixture.path, { threads: 2 });
    const result = await model.transcribe(long, { wordTimestamps: true, ...once });
    expect(result.segments).toHaveLength(LONG_SEGMENTS);
    // One word per text token: every word the decoder emitted is timed.
    expect(result.words).toHaveLength(LONG_SEGMENTS * SPEECHLIKE_TOKENS_PER_SEGMENT);
    let previousStart = 0;
    for (const segment of result.segments) {
      expect(segment.words).toHaveLength(segment.tokens.length);
      for (const word of segment.words!) {
        expect(word.word).not.toMatch(/^\s|^$/);
        expect(word.start).toBeGreaterThanOrEqual(segment.start);
        expect(word.end).toBeGreaterThanOrEqual(word.start);
        expect(word.end).toBeLessThanOrEqual(segment.end);
        expect(word.start).toBeGreaterThanOrEqual(previousStart);
        previousStart = word.start;
      }
      expect(segment.words!.map((w) => w.word).join('')).toBe(segment.text.replace(/\s+/g, ''));
    }
    expect(result.words).toEqual(result.segments.flatMap((s) => s.words));
  });

  it('refuses a wordTimestamps that is not a boolean, and callbacks that are not functions', async () => {
    await using model = await WhisperModel.load(fixture.path, { threads: 2 });
    await expect(model.transcribe(short, { wordTimestamps: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'Expected a boolean for wordTimestamps but received "yes"',
    });
    await expect(model.transcribe(short, {}, { onSegment: 5 as unknown as () => void })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/Expected a function for onSegment but received number 5/),
    });
  });
});

describe('onSegment and onProgress', () => {
  it('hear each segment in order before the result, and progress rising to 100', async () => {
    await using model = await WhisperModel.load(fixture.path, { threads: 2 });
    const heard: Segment[] = [];
    const progress: number[] = [];
    const result = await model.transcribe(long, { wordTimestamps: true, ...once }, { onSegment: (s) => heard.push(s), onProgress: (p) => progress.push(p) });
    expect(result.segments.map((s) => s.start)).toEqual(Array.from({ length: LONG_SEGMENTS }, (_, i) => i * SPEECHLIKE_SEGMENT_SECONDS));
    // Every segment arrived before the Promise settled, as the result has it.
    expect(heard).toEqual(result.segments);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(100);
    for (let i = 1; i < progress.length; ++i) expect(progress[i]).toBeGreaterThan(progress[i - 1]!);
  });

  it('a listener that throws does not stop the transcription', async () => {
    await using model = await WhisperModel.load(fixture.path, { threads: 2 });
    const thrown: unknown[] = [];
    const onUncaught = (err: unknown): void => {
      thrown.push(err);
    };
    process.prependListener('uncaughtException', onUncaught);
    try {
      const result = await model.transcribe(short, {}, {
        onSegment: () => {
          throw new Error('listener failed');
        },
      });
      expect(result.segments.length).toBeGreaterThan(0);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    expect(thrown).toMatchObject([{ message: 'listener failed' }]);
  });
});
