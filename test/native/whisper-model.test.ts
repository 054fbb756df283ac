// WhisperModel through its public API, on real whisper.cpp inference with synthetic models.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { SPEECHLIKE_SEGMENT_SECONDS } from '../../src/model/speechlike.js';
import { setNativeLogger, systemInfo, WhisperModel, type Segment } from '../../src/native/index.js';
import { syllableTones } from '../helpers/signals.js';
import { useSyntheticModel } from '../helpers/synthetic-model.js';

const fixture = useSyntheticModel('mini', 'native');
// The decoder at work as on speech: 12 text tokens per 5 s segment (src/model/speechlike.ts).
const speechlike = useSyntheticModel('mini', 'native-speechlike', 'speechlike');
let mini: string;
let dir: { path: string };

beforeAll(() => {
  mini = fixture.path;
  dir = { path: fixture.dir };
});

const clip = syllableTones(4);

describe('systemInfo', () => {
  it('reports the pinned whisper.cpp and the CPU backend', () => {
    const info = systemInfo();
    expect(info.whisperVersion).toBe('1.9.1');
    expect(info.backends).toContain('CPU');
    expect(info.features).toMatch(/AVX|NEON|SSE/);
  });
});

describe('transcribe', () => {
  it('returns segments with ordered timestamps inside the clip', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2 });
    const result = await model.transcribe(clip);
    expect(result.durationS).toBeCloseTo(4, 5);
    expect(result.language).toBe('en');
    expect(result.segments.length).toBeGreaterThan(0);
    let previousEnd = 0;
    for (const segment of result.segments) {
      expect(segment.start).toBeGreaterThanOrEqual(previousEnd);
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      expect(segment.end).toBeLessThanOrEqual(result.durationS);
      expect(segment.noSpeechProb).toBeGreaterThanOrEqual(0);
      expect(segment.noSpeechProb).toBeLessThanOrEqual(1);
      previousEnd = segment.end;
    }
    expect(result.text).toBe(result.segments.map((s) => s.text).join('').trim());
    const t = result.timings;
    expect(t.totalMs).toBeGreaterThan(0);
    expect(t.encodeMs).toBeGreaterThan(0);
    expect(t.melMs + t.encodeMs + t.decodeMs).toBeCloseTo(t.totalMs, 3);
  });

  it('accepts the options whisper.cpp takes: language, prompt, temperature, beam search, no timestamps', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2 });
    const beam = await model.transcribe(clip, { language: 'en', initialPrompt: 'Meeting notes.', beamSize: 2, temperature: 0 });
    expect(beam.language).toBe('en');
    const sampled = await model.transcribe(clip, { temperature: 0.4, bestOf: 2, timestamps: false, threads: 1 });
    expect(sampled.segments.length).toBeGreaterThan(0);
  });

  it('rejects bad input with INVALID_ARGUMENT and a message naming the option', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2 });
    const cases: Array<[unknown, unknown, RegExp]> = [
      [new Float32Array(0), {}, /at least one audio sample/],
      [new Float64Array(10), {}, /Expected a Float32Array .* for pcm but received an object/],
      [clip, { language: 'xx' }, /Unknown language 'xx'/],
      [clip, { language: 'de' }, /^The model is English-only; it cannot transcribe language 'de'$/],
      [clip, { language: 'haw' }, /^The model is English-only; it cannot transcribe language 'haw'$/],
      [clip, { language: 7 }, /for language but received number 7/],
      [clip, { beamSize: 9 }, /Expected an integer between 1 and 8 for beamSize but received number 9/],
      [clip, { temperature: Number.NaN }, /for temperature/],
      [clip, { threads: 0 }, /for threads/],
      [clip, { initialPrompt: 'x'.repeat(5000) }, /initialPrompt/],
      [clip, 'fast', /Expected an object for options but received "fast"/],
      [Float32Array.from([0, Number.NaN, 0]), {}, /NaN or infinite/],
    ];
    for (const [pcm, options, message] of cases) {
      const error = await model.transcribe(pcm as Float32Array, options as object).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, String(message)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
    // The model still works after all of them.
    expect((await model.transcribe(clip)).segments.length).toBeGreaterThan(0);
  });

  it('rethrows native errors with a JavaScript stack from the caller', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2 });
    const error = (await model.transcribe(clip, { language: 'xx' }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('WhisperError');
    expect(error.stack).toContain('whisper-model.test.ts');
  });
});

describe('the state pool', () => {
  it('never uses more states than the maximum for 4 concurrent transcriptions, and reuses them', async () => {
    await using model = await WhisperModel.load(mini, { threads: 1, maxStates: 2 });
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await model.memory();
        peak = Math.max(peak, m.states.total, m.states.busy);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const results = await Promise.all([0, 1, 2, 3].map(() => model.transcribe(clip)));
    sampling = false;
    await sampler;
    expect(results).toHaveLength(4);
    expect(peak).toBe(2);
    const after = await model.memory();
    expect(after.states).toEqual({ total: 2, idle: 2, busy: 0, max: 2 });
    expect(after.bytesPerState).toBeGreaterThan(1_000_000);
    expect(after.weightsBytes).toBeGreaterThan(1_000_000);
    expect(after.gpu).toBeNull();
  });

  it('trim frees the idle states and RSS comes back to where it was before they existed', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2, maxStates: 2 });
    const loaded = await model.memory();
    await Promise.all([model.transcribe(clip), model.transcribe(clip)]);
    const before = await model.memory();
    expect(before.states.idle).toBe(2);
    const grown = before.rssBytes - loaded.rssBytes;
    expect(grown).toBeGreaterThan(10_000_000);
    const report = await model.trim();
    expect(report.statesFreed).toBe(2);
    expect(report.stateBytesFreed).toBe(2 * before.bytesPerState);
    expect(report.heapTrimmed).toBe(true);
    expect(report).toMatchObject({ gpuFreeBefore: null, gpuFreeAfter: null }); // a CPU build
    // What the two states made resident leaves the process again.
    expect(report.rssReleasedBytes).toBeGreaterThan(0.8 * grown);
    expect(report.rssAfter).toBeLessThan(loaded.rssBytes + 8_000_000);
    const after = await model.memory();
    expect(after.states).toMatchObject({ total: 0, idle: 0, busy: 0 });
    // The pool builds a state again on the next request.
    expect((await model.transcribe(clip)).segments.length).toBeGreaterThan(0);
  });
});

describe('recreate', () => {
  it('swaps in a new context while 4 transcriptions run; all finish and the next runs on the new one', async () => {
    const copy = join(dir.path, 'mini-copy.bin');
    await copyFile(mini, copy);
    await using model = await WhisperModel.load(mini, { threads: 1, maxStates: 2 });
    const running = [0, 1, 2, 3].map(() => model.transcribe(clip));
    await new Promise((r) => setTimeout(r, 50));
    const report = await model.recreate(copy);
    expect(report).toMatchObject({ previousPath: mini, path: copy });
    const results = await Promise.all(running);
    for (const r of results) expect(r.segments.length).toBeGreaterThan(0);
    expect(model.info.path).toBe(copy);
    const next = await model.transcribe(clip);
    expect(next.segments.length).toBeGreaterThan(0);
    const memory = await model.memory();
    expect(memory.path).toBe(copy);
    expect(memory.drainingContexts).toBe(0);
  });

  it('keeps the old model serving when the new file is corrupt', async () => {
    const corrupt = join(dir.path, 'corrupt.bin');
    await copyFile(mini, corrupt);
    const { truncate } = await import('node:fs/promises');
    await truncate(corrupt, 1000);
    await using model = await WhisperModel.load(mini, { threads: 2 });
    await expect(model.recreate(corrupt)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(model.recreate(join(dir.path, 'missing.bin'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(model.info.path).toBe(mini);
    expect((await model.transcribe(clip)).segments.length).toBeGreaterThan(0);
  });

  it('reloads the same path when none is given', async () => {
    await using model = await WhisperModel.load(mini, { threads: 2 });
    const report = await model.recreate();
    expect(report.path).toBe(mini);
    expect(report.loadMs).toBeGreaterThan(0);
  });
});

describe('abort', () => {
  it('cancels a running transcription and returns its state to the pool', async () => {
    await using model = await WhisperModel.load(mini, { threads: 1, maxStates: 1 });
    const long = syllableTones(60);
    const controller = new AbortController();
    const started = Date.now();
    const pending = model.transcribe(long, {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    const full = Date.now();
    await model.transcribe(long);
    const fullMs = Date.now() - full;
    // The abort stopped the work well before a full run's time.
    expect(Date.now() - started - fullMs).toBeLessThan(fullMs);
    expect((await model.memory()).states).toMatchObject({ total: 1, idle: 1, busy: 0 });
  });

  it('stops mid-decode, and the state it leaves decodes the next clip as a fresh one does', async () => {
    await using model = await WhisperModel.load(speechlike.path, { threads: 1, maxStates: 1 });
    const clip60 = syllableTones(60);
    const segments = 60 / SPEECHLIKE_SEGMENT_SECONDS;
    const controller = new AbortController();
    const heard: Segment[] = [];
    // The first segment is out: the decoder is running. Abort from inside its listener.
    const pending = model.transcribe(clip60, {}, {
      signal: controller.signal,
      onSegment: (segment) => {
        heard.push(segment);
        controller.abort();
      },
    });
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(heard.length).toBeGreaterThanOrEqual(1);
    expect(heard.length).toBeLessThan(segments);
    expect((await model.memory()).states).toMatchObject({ total: 1, idle: 1, busy: 0 });
    // The same state again (maxStates 1): every segment, as a model that never aborted decodes them.
    const after = await model.transcribe(clip60);
    expect(after.segments).toHaveLength(segments);
    expect(after.segments.slice(0, heard.length)).toEqual(heard);
    await using fresh = await WhisperModel.load(speechlike.path, { threads: 1, maxStates: 1 });
    const { timings: _timings, ...decoded } = after;
    const { timings: _freshTimings, ...freshDecoded } = await fresh.transcribe(clip60);
    expect(decoded).toEqual(freshDecoded);
  });

  it('rejects at once for an aborted signal and for one that fires while queued', async () => {
    await using model = await WhisperModel.load(mini, { threads: 1, maxStates: 1 });
    await expect(model.transcribe(clip, {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    const first = model.transcribe(clip);
    const controller = new AbortController();
    const queued = model.transcribe(clip, {}, { signal: controller.signal });
    expect(model.queued).toBe(1);
    controller.abort();
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED' });
    expect(model.queued).toBe(0);
    await first;
  });
});

describe('dispose', () => {
  it('is idempotent and every later call rejects with MODEL_DISPOSED', async () => {
    const model = await WhisperModel.load(mini, { threads: 2 });
    await Promise.all([model.dispose(), model.dispose()]);
    await model.dispose();
    expect(model.disposed).toBe(true);
    await expect(model.transcribe(clip)).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    await expect(model.trim()).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    await expect(model.recreate()).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    await expect(model.memory()).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    expect(() => model.info).toThrow(/disposed/);
  });

  it('cancels in-flight work and frees the model', async () => {
    const model = await WhisperModel.load(mini, { threads: 1 });
    const outcome = model.transcribe(syllableTones(60)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await model.dispose();
    expect(await outcome).toMatchObject({ code: 'ABORTED' });
  });

  it('works with await using', async () => {
    let escaped: WhisperModel | undefined;
    {
      await using model = await WhisperModel.load(mini, { threads: 2 });
      escaped = model;
    }
    expect(escaped.disposed).toBe(true);
  });
});

describe('native logs', () => {
  it('are silent until a logger is set, then arrive as lines at the chosen level', async () => {
    const lines: string[] = [];
    setNativeLogger((level, line) => lines.push(`${level} ${line}`), 'info');
    try {
      await using model = await WhisperModel.load(mini, { threads: 2 });
      await model.transcribe(clip);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      setNativeLogger(null);
    }
    expect(lines.some((l) => l.startsWith('info whisper_model_load'))).toBe(true);
    expect(lines.some((l) => l.includes('compute buffer (decode)'))).toBe(true);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const count = lines.length;
    await using quiet = await WhisperModel.load(mini, { threads: 2 });
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.length).toBe(count);
    expect(quiet.info.type).toBeTypeOf('string');
  });
});
