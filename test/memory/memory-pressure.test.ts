// Memory pressure as readiness reads it: started by what the cleanup ladder measures, visible while
// a run is still working, ended with hysteresis (at once under the clear level, or by a later run
// that opens under the threshold), for RSS and for a simulated GPU.
import { describe, expect, it } from 'vitest';

import { MemoryManager } from '../../src/memory/memory-manager.js';
import { CLEAR_FRACTION, PressureTracker } from '../../src/memory/memory-pressure.js';
import type { MemoryProbes } from '../../src/memory/probes.js';
import { ModelHost } from '../../src/model/host.js';
import { defaultMemorySettings } from '../../src/server/index.js';
import { FakeModel } from './helpers/fake-model.js';
import { recordingLogger } from './helpers/recording-logger.js';

const MB = 1024 * 1024;
const thresholds = { memoryThresholdMb: 1000, gpuMemoryThresholdMb: 2000 };
const at = (rssMb: number, gpuMb: number | null = null, t = 1000) => ({
  at: t,
  rssBytes: rssMb * MB,
  gpu: gpuMb === null ? null : { usedBytes: gpuMb * MB, totalBytes: 8000 * MB, device: 0, name: 'Simulated GPU' },
});

describe('PressureTracker', () => {
  it('starts with a ladder reading over a threshold, never with another reading', () => {
    const tracker = new PressureTracker(thresholds);
    tracker.observeReading(at(1200));
    expect(tracker.state.active).toBe(false);
    tracker.observeLadder(at(1200, null, 5000), true);
    expect(tracker.state).toEqual({ active: true, reason: 'RSS 1200 MB over 1000 MB', since: 5000 });
    // Still over later: it started at the first reading.
    tracker.observeLadder(at(1300, null, 9000), false);
    expect(tracker.state.since).toBe(5000);
  });

  it(`ends at once under ${CLEAR_FRACTION * 100}% of the threshold, not between that and the threshold`, () => {
    const tracker = new PressureTracker(thresholds);
    tracker.observeLadder(at(1200), true);
    tracker.observeReading(at(970));
    tracker.observeLadder(at(960), false); // after trimming, still in the band
    expect(tracker.state.active).toBe(true);
    tracker.observeReading(at(940));
    expect(tracker.state).toEqual({ active: false, reason: null, since: null });
  });

  it('ends when a later ladder run opens under the threshold: memory stayed there for a whole check interval', () => {
    const tracker = new PressureTracker(thresholds);
    tracker.observeLadder(at(1200), true);
    tracker.observeLadder(at(990), false);
    expect(tracker.state.active).toBe(true);
    tracker.observeLadder(at(990), true);
    expect(tracker.state.active).toBe(false);
  });

  it('watches GPU memory against its own threshold; both must be under their clear levels', () => {
    const tracker = new PressureTracker(thresholds);
    tracker.observeLadder(at(500, 2100), true);
    expect(tracker.state.reason).toBe('GPU memory 2100 MB over 2000 MB');
    tracker.observeReading(at(500, 1950));
    expect(tracker.state.active).toBe(true);
    tracker.observeReading(at(960, 1800)); // GPU clear, RSS in its band
    expect(tracker.state.active).toBe(true);
    tracker.observeReading(at(900, 1800));
    expect(tracker.state.active).toBe(false);
  });
});

describe('the memory manager under pressure', () => {
  async function setup(rssMb: () => number) {
    const settings = { ...defaultMemorySettings(), memoryThresholdMb: 1000, gpuMemoryThresholdMb: 2000, modelReloadMinIntervalS: 3600 };
    let model!: FakeModel;
    const host = new ModelHost({
      path: '/models/fake.bin',
      loader: async (path) => {
        model = new FakeModel(path);
        return model;
      },
    });
    const probes: MemoryProbes = {
      process: () => ({ rssBytes: rssMb() * MB, heapUsedBytes: 20 * MB, heapTotalBytes: 40 * MB, externalBytes: MB }),
      system: () => ({ totalBytes: 8000 * MB, availableBytes: 4000 * MB }),
    };
    const logger = recordingLogger();
    const manager = new MemoryManager({ settings, model: host, probes, logger });
    await host.acquire();
    return { manager, model: () => model, logger };
  }

  it('is under pressure while a run works on memory over the threshold, and after it when trimming did not help', async () => {
    let rss = 1200;
    const { manager, model, logger } = await setup(() => rss);
    let trimming!: () => void;
    const m = model();
    const trim = m.trim.bind(m);
    m.trim = () => new Promise((resolve) => (trimming = () => resolve(trim())));
    const run = manager.check();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(manager.pressure).toMatchObject({ active: true, reason: 'RSS 1200 MB over 1000 MB' }); // the run is still trimming
    trimming();
    const done = await run;
    expect(done.rungs.find((r) => r.level === 'reload')?.reload?.deferredS).toBeGreaterThan(0);
    expect(manager.pressure.active).toBe(true);
    expect(logger.records.some((e) => e.level === 'warn' && /under pressure/.test(e.msg ?? ''))).toBe(true);

    // /ready's fresh reading: in the band it stays, under the clear level it ends.
    rss = 980;
    expect((await manager.currentPressure()).active).toBe(true);
    rss = 900;
    expect(await manager.currentPressure()).toEqual({ active: false, reason: null, since: null });
    expect(logger.records.some((e) => e.level === 'info' && /pressure over/.test(e.msg ?? ''))).toBe(true);
    const stats = await manager.getStats();
    expect(stats.pressure).toEqual({ active: false, reason: null, since: null, clear_below_mb: 950, gpu_clear_below_mb: 1900 });
  });

  it('a run that brings memory under the clear level ends it at once; the stats show it while it lasts', async () => {
    let rss = 1200;
    const { manager, model } = await setup(() => rss);
    const m = model();
    m.trim = async () => {
      rss = 800;
      return { statesFreed: 1, stateBytesFreed: 150 * MB, rssBefore: 1200 * MB, rssAfter: 800 * MB, rssReleasedBytes: 400 * MB, heapTrimmed: true, gpuFreeBefore: null, gpuFreeAfter: null };
    };
    const seen: boolean[] = [];
    const original = m.memory.bind(m);
    m.memory = async () => {
      seen.push(manager.pressure.active);
      return original();
    };
    await manager.check();
    expect(seen).toContain(true);
    expect(manager.pressure.active).toBe(false);

    rss = 1500;
    await manager.check(); // trimming brings it to 800 again
    rss = 1500;
    m.trim = async () => ({ statesFreed: 0, stateBytesFreed: 0, rssBefore: 0, rssAfter: 0, rssReleasedBytes: 0, heapTrimmed: true, gpuFreeBefore: null, gpuFreeAfter: null });
    await manager.check();
    const stats = await manager.getStats();
    expect(stats.pressure).toMatchObject({ active: true, reason: 'RSS 1500 MB over 1000 MB', since: expect.any(String) });
  });
});
