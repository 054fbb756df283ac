// Predictive admission's policy on its own: the decision for each reading, then the gate with a
// stand-in model whose pool and memory figures a test sets (first come first served, waiting for a
// state to come back, refusal, abort, the cost taken from the model's report).
import { describe, expect, it } from 'vitest';

import { decideAdmission, PredictiveAdmission, refusalRetryAfterS, type AdmissionReading } from '../../src/memory/admission.js';
import type { MemoryProbes } from '../../src/memory/probes.js';
import { ModelHost } from '../../src/model/host.js';
import type { Transcription } from '../../src/native/index.js';
import { FakeModel } from './helpers/fake-model.js';

const MB = 1024 * 1024;
const thresholds = { memoryThresholdMb: 1000, gpuMemoryThresholdMb: 2000 };

function reading(overrides: Partial<AdmissionReading> = {}): AdmissionReading {
  return { rssBytes: 500 * MB, gpu: null, states: { total: 1, max: 4 }, active: 1, stateCostBytes: 140 * MB, ...overrides };
}

describe('decideAdmission', () => {
  it('starts at once on an idle state, whatever the figures', () => {
    expect(decideAdmission(reading({ active: 0, rssBytes: 5000 * MB }), thresholds)).toEqual({ kind: 'start', newState: false });
    expect(decideAdmission(reading({ active: 2, states: { total: 3, max: 4 }, rssBytes: 5000 * MB }), thresholds)).toEqual({ kind: 'start', newState: false });
  });

  it('starts a new state when RSS plus its cost stays under the threshold', () => {
    expect(decideAdmission(reading({ rssBytes: 860 * MB }), thresholds)).toEqual({ kind: 'start', newState: true });
  });

  it('waits for a busy state when the new one would cross the threshold, refuses when none is busy', () => {
    expect(decideAdmission(reading({ rssBytes: 900 * MB }), thresholds)).toEqual({ kind: 'wait', reason: 'RSS 900 MB + 140 MB over 1000 MB' });
    expect(decideAdmission(reading({ rssBytes: 900 * MB, active: 0, states: { total: 0, max: 4 } }), thresholds)).toEqual({
      kind: 'refuse',
      reason: 'RSS 900 MB + 140 MB over 1000 MB',
    });
    // No model loaded: no state either.
    expect(decideAdmission(reading({ rssBytes: 900 * MB, active: 0, states: null }), thresholds).kind).toBe('refuse');
  });

  it('counts the cost against GPU memory too, where there is a GPU', () => {
    expect(decideAdmission(reading({ gpu: { usedBytes: 1900 * MB } }), thresholds)).toEqual({ kind: 'wait', reason: 'GPU memory 1900 MB + 140 MB over 2000 MB' });
    expect(decideAdmission(reading({ gpu: { usedBytes: 1800 * MB } }), thresholds)).toEqual({ kind: 'start', newState: true });
  });

  it('before the cost is measured, admits on the figures alone', () => {
    expect(decideAdmission(reading({ rssBytes: 990 * MB, stateCostBytes: null }), thresholds)).toEqual({ kind: 'start', newState: true });
    expect(decideAdmission(reading({ rssBytes: 1010 * MB, stateCostBytes: null }), thresholds).kind).toBe('wait');
  });

  it('leaves a full pool to make the transcription wait for a state of its own', () => {
    expect(decideAdmission(reading({ active: 4, states: { total: 4, max: 4 }, rssBytes: 5000 * MB }), thresholds)).toEqual({ kind: 'start', newState: false });
  });
});

describe('refusalRetryAfterS', () => {
  it('is the cleanup interval, between 5 and 60 s', () => {
    expect(refusalRetryAfterS(30)).toBe(30);
    expect(refusalRetryAfterS(0.5)).toBe(5);
    expect(refusalRetryAfterS(3600)).toBe(60);
  });
});

/** A stand-in model whose pool hands out states like the native one and whose transcriptions a test ends. */
class PoolModel extends FakeModel {
  busy = 0;
  readonly #ends: Array<() => void> = [];

  constructor(path: string) {
    super(path);
    this.statesTotal = 0;
  }

  override async transcribe(): Promise<Transcription> {
    if (this.busy === this.statesTotal) this.statesTotal++; // no idle state: the pool builds one
    this.busy++;
    await new Promise<void>((resolve) => this.#ends.push(resolve));
    this.busy--;
    return { text: 'ok', segments: [], language: 'en', durationS: 1, timings: { melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: 1 } };
  }

  /** Ends the oldest running transcription. */
  finishOne(): void {
    this.#ends.shift()?.();
  }

  get running(): number {
    return this.#ends.length;
  }
}

async function gate(options: { enabled?: boolean; rssMb: () => number }) {
  let model!: PoolModel;
  const host = new ModelHost({
    path: '/models/pool.bin',
    loader: async (path) => {
      model = new PoolModel(path);
      return model;
    },
  });
  await host.acquire();
  const probes: MemoryProbes = {
    process: () => ({ rssBytes: options.rssMb() * MB, heapUsedBytes: 0, heapTotalBytes: 0, externalBytes: 0 }),
    system: () => ({ totalBytes: 8000 * MB, availableBytes: 4000 * MB }),
  };
  const admission = new PredictiveAdmission({ enabled: options.enabled ?? true, thresholds, model: host, probes, retryAfterS: 30 });
  const transcribe = (signal?: AbortSignal) => admission.run(() => host.transcribe(new Float32Array(10)), signal);
  return { admission, host, model: () => model, transcribe };
}

const settled = (p: Promise<unknown>) => {
  const state = { done: false, error: null as unknown };
  p.then(
    () => (state.done = true),
    (err: unknown) => {
      state.done = true;
      state.error = err;
    },
  );
  return state;
};

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await tick();
  if (!condition()) throw new Error(`Timed out waiting for ${what}`);
}

describe('PredictiveAdmission', () => {
  it('measures the cost from the model report; a different model starts unmeasured', async () => {
    const { admission, model } = await gate({ rssMb: () => 100 });
    expect(admission.stateCostBytes).toBeNull();
    await admission.run(async () => undefined); // a decision reads the model's report
    expect(admission.stateCostBytes).toBe(150 * MB);
    admission.observe({ ...(await model().memory()), bytesPerState: 0 });
    expect(admission.stateCostBytes).toBe(150 * MB); // same model, reloaded: the measure holds
    admission.observe({ ...(await model().memory()), path: '/models/other.bin', bytesPerState: 0 });
    expect(admission.stateCostBytes).toBeNull();
  });

  it('a transcription that would need a new state over the threshold waits for a busy one, then reuses it', async () => {
    let rss = 100;
    const { admission, model, transcribe } = await gate({ rssMb: () => rss });
    const first = settled(transcribe());
    await until(() => model().running === 1, 'the first transcription to run');
    rss = 900; // 900 + 150 > 1000
    const second = settled(transcribe());
    await until(() => admission.stats().heldForState && admission.stats().waiting === 1, 'the second to wait');
    await tick();
    expect(model().running).toBe(1);
    expect(second.done).toBe(false);
    model().finishOne();
    await until(() => model().running === 1 && first.done, 'the second to start on the first one state');
    expect(model().statesTotal).toBe(1);
    model().finishOne();
    await until(() => second.done, 'the second to end');
    expect(second.error).toBeNull();
    expect(admission.stats()).toMatchObject({ decisions: { admitted: 1, waited: 1, refused: 0 }, waiting: 0 });
  });

  it('refuses with MEMORY_PRESSURE when nothing running would hand a state back, and builds none', async () => {
    const { admission, model, transcribe } = await gate({ rssMb: () => 900 });
    admission.observe(await model().memory()); // the cost measured earlier
    await expect(transcribe()).rejects.toMatchObject({ code: 'MEMORY_PRESSURE', retryAfterS: 30, message: expect.stringMatching(/RSS 900 MB \+ 150 MB over 1000 MB/) });
    expect(model().statesTotal).toBe(0);
    expect(model().transcriptions).toBe(0);
    expect(admission.stats()).toMatchObject({ decisions: { admitted: 0, waited: 0, refused: 1 }, lastRefusal: { reason: 'RSS 900 MB + 150 MB over 1000 MB' } });
  });

  it('takes its decisions in order: later arrivals queue behind one that waits', async () => {
    let rss = 100;
    const { admission, model, transcribe } = await gate({ rssMb: () => rss });
    const first = settled(transcribe());
    await until(() => model().running === 1, 'the first to run');
    rss = 900;
    const second = settled(transcribe());
    const third = settled(transcribe());
    await until(() => admission.stats().heldForState && admission.stats().waiting === 2, 'two waiting');
    // Memory comes down meanwhile: both may start, each on a state of its own.
    rss = 100;
    model().finishOne();
    await until(() => model().running === 2, 'both to start');
    expect(first.done).toBe(true);
    expect(model().statesTotal).toBe(2);
    model().finishOne();
    model().finishOne();
    await until(() => second.done && third.done, 'both to end');
    expect(admission.stats().decisions).toEqual({ admitted: 1, waited: 2, refused: 0 });
  });

  it('a waiting transcription whose client goes away leaves the line', async () => {
    let rss = 100;
    const { admission, model, transcribe } = await gate({ rssMb: () => rss });
    void transcribe();
    await until(() => model().running === 1, 'the first to run');
    rss = 900;
    const controller = new AbortController();
    const waiting = transcribe(controller.signal);
    await until(() => admission.stats().heldForState && admission.stats().waiting === 1, 'the second to wait');
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    expect(admission.stats().waiting).toBe(0);
    model().finishOne();
  });

  it('lets everything through when turned off', async () => {
    const { admission, model, transcribe } = await gate({ enabled: false, rssMb: () => 5000 });
    const running = [transcribe(), transcribe()];
    await until(() => model().running === 2, 'both to run');
    model().finishOne();
    model().finishOne();
    await Promise.all(running);
    expect(admission.stats()).toMatchObject({ enabled: false, decisions: { admitted: 0, waited: 0, refused: 0 } });
  });
});
