// The cleanup policy with a fake clock, a simulated GPU and injected process readings; then the
// same manager over the real native core.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { MemoryManager, type ManagedTempFiles } from '../../src/memory/memory-manager.js';
import { ModelHost } from '../../src/model/host.js';
import type { MemoryProbes } from '../../src/memory/probes.js';
import type { MemorySettings } from '../../src/memory/settings.js';
import { defaultMemorySettings } from '../../src/server/index.js';
import { syllableTones } from '../helpers/signals.js';
import { useSyntheticModel } from '../helpers/synthetic-model.js';
import { FakeModel } from './helpers/fake-model.js';
import { recordingLogger } from './helpers/recording-logger.js';

const MB = 1024 * 1024;

class FakeClock {
  t = 1_000_000;
  now = (): number => this.t;
  advanceS(s: number): void {
    this.t += s * 1000;
  }
}

function fakeProbes(rssMb: () => number): MemoryProbes {
  return {
    process: () => ({ rssBytes: rssMb() * MB, heapUsedBytes: 20 * MB, heapTotalBytes: 40 * MB, externalBytes: 1 * MB }),
    system: () => ({ totalBytes: 24_000 * MB, availableBytes: 18_000 * MB }),
  };
}

class FakeFiles implements ManagedTempFiles {
  sweeps: number[] = [];
  count = 3;
  async sweep(maxAgeMs: number) {
    this.sweeps.push(maxAgeMs);
    return { removed: 0, bytes: 0 };
  }
  stats() {
    return { count: this.count, bytes: 3 * MB, oldestAgeMs: 12_000 };
  }
}

async function setup(overrides: Partial<MemorySettings> = {}, rssMb = () => 500) {
  const clock = new FakeClock();
  const settings = { ...defaultMemorySettings(), ...overrides };
  const models: FakeModel[] = [];
  const logger = recordingLogger();
  const host = new ModelHost({
    path: '/models/fake.bin',
    now: clock.now,
    idleUnloadMs: settings.modelIdleUnloadS * 1000,
    loader: async (path) => {
      const m = new FakeModel(path);
      models.push(m);
      return m;
    },
    logger,
  });
  const files = new FakeFiles();
  const manager = new MemoryManager({ settings, model: host, files, probes: fakeProbes(rssMb), logger, now: clock.now });
  await host.acquire();
  return { clock, settings, host, files, manager, models, logger, model: () => models.at(-1) as FakeModel };
}

describe('the cleanup ladder', () => {
  it('sweeps temp files at the normal age on every check and does nothing else under the thresholds', async () => {
    const { manager, files, model } = await setup();
    const run = await manager.check();
    expect(run.level).toBe('routine');
    expect(files.sweeps).toEqual([300_000]);
    expect(model().trims).toBe(0);
    expect(manager.counters.byLevel).toEqual({ routine: 1, aggressive: 0, reload: 0 });
  });

  it('simulated GPU growth over the threshold: one trim, then one recreate, none again inside the minimum interval', async () => {
    const { manager, clock, model, files, logger } = await setup({ gpuMemoryThresholdMb: 2048, modelReloadMinIntervalS: 300 });
    const gpu = model();
    gpu.gpuUsedMb = 1500;
    clock.advanceS(30);
    expect((await manager.check()).level).toBe('routine');

    // The GPU fills past the threshold; trimming does not bring it down.
    gpu.gpuUsedMb = 2600;
    clock.advanceS(300);
    const first = await manager.check();
    expect(gpu.trims).toBe(1);
    expect(gpu.recreates).toBe(1);
    expect(first.level).toBe('reload');
    expect(files.sweeps.at(-1)).toBe(60_000); // the aggressive age
    const reloadRung = first.rungs.find((r) => r.level === 'reload');
    expect(reloadRung?.reload).toEqual({ ok: true });
    expect(reloadRung?.before.gpuUsedMb).toBe(2600);

    // Still over: trims go on, reloads wait out the minimum interval.
    for (let i = 0; i < 5; i++) {
      clock.advanceS(30);
      const run = await manager.check();
      expect(run.level).toBe('aggressive');
    }
    expect(gpu.trims).toBe(6);
    expect(gpu.recreates).toBe(1);
    expect(manager.counters.reloadsDeferred).toBe(5);
    expect(logger.records.some((e) => e.level === 'warn' && /reload deferred/.test(e.msg ?? ''))).toBe(true);

    // Once the interval has passed, the next over-threshold check may reload again.
    clock.advanceS(300);
    await manager.check();
    expect(gpu.recreates).toBe(2);
    const stats = await manager.getStats();
    expect(stats.model.reload_count).toBe(2);
    expect(stats.model.last_reload).toBe(new Date(clock.t).toISOString());
    expect(stats.cleanup.by_level).toMatchObject({ reload: 2, aggressive: 5 });
  });

  it('GPU use that keeps growing above the post-load baseline counts as fragmentation below the threshold', async () => {
    const { manager, clock, model } = await setup({ gpuMemoryThresholdMb: 8192, gpuGrowthMb: 256, gpuGrowthChecks: 3, modelReloadMinIntervalS: 60 });
    const gpu = model();
    gpu.onRecreate = () => (gpu.gpuUsedMb = 1000);
    gpu.gpuUsedMb = 1000;
    clock.advanceS(120);
    await manager.check(); // the baseline
    for (const used of [1100, 1400, 1700]) {
      gpu.gpuUsedMb = used;
      clock.advanceS(30);
      await manager.check();
    }
    // 1100 is within the allowance; 1400 and 1700 grow above it: two checks, not yet three.
    expect(gpu.recreates).toBe(0);
    gpu.gpuUsedMb = 2000;
    clock.advanceS(30);
    const run = await manager.check();
    expect(run.gpuGrowth).toMatchObject({ streak: 3, fragmented: true });
    expect(gpu.trims).toBe(1);
    expect(gpu.recreates).toBe(1);
    // After the reload the baseline starts again and a steady GPU is left alone.
    for (let i = 0; i < 4; i++) {
      clock.advanceS(30);
      expect((await manager.check()).level).toBe('routine');
    }
    expect(gpu.recreates).toBe(1);
  });

  it('RSS over the threshold trims; when that is enough it does not reload', async () => {
    let rss = 5000;
    const { manager, model, clock } = await setup({ memoryThresholdMb: 4096 }, () => rss);
    const m = model();
    m.trim = async () => {
      m.trims++;
      rss = 3000;
      return { statesFreed: 1, stateBytesFreed: 150 * MB, rssBefore: 5000 * MB, rssAfter: 3000 * MB, rssReleasedBytes: 2000 * MB, heapTrimmed: true, gpuFreeBefore: null, gpuFreeAfter: null };
    };
    clock.advanceS(400);
    const run = await manager.check();
    expect(run.level).toBe('aggressive');
    expect(m.trims).toBe(1);
    expect(m.recreates).toBe(0);
    expect(run.freedBytes).toBe(2000 * MB);
    const rung = run.rungs.find((r) => r.level === 'aggressive');
    expect(rung?.before.rssMb).toBe(5000);
    expect(rung?.after?.rssMb).toBe(3000);
  });

  it('a failed reload keeps the old model serving and is reported', async () => {
    const { manager, host, model, clock, logger } = await setup({ memoryThresholdMb: 1024 }, () => 2000);
    const m = model();
    m.failRecreate = Object.assign(new Error('Invalid model file: truncated'), { code: 'MODEL_INVALID' });
    clock.advanceS(400);
    const run = await manager.check();
    expect(run.rungs.find((r) => r.level === 'reload')?.reload).toEqual({ ok: false, error: 'Invalid model file: truncated' });
    expect(host.state).toBe('ready');
    expect((await host.transcribe(new Float32Array(16000))).text).toBe('ok');
    expect(m.transcriptions).toBe(1);
    const stats = await manager.getStats();
    expect(stats.model).toMatchObject({ reload_count: 0, reload_failures: 1, last_reload_ok: false, last_reload_error: 'Invalid model file: truncated' });
    expect(logger.records.some((e) => e.level === 'error' && /reload failed/.test(e.msg ?? ''))).toBe(true);
    // A failed attempt also starts the minimum interval: no retry on the next check.
    clock.advanceS(30);
    m.failRecreate = null;
    await manager.check();
    expect(m.recreates).toBe(0);
  });

  it('an admin cleanup with reload_model reloads at once', async () => {
    const { manager, model } = await setup();
    const run = await manager.cleanup({ reload: true });
    expect(run.level).toBe('reload');
    expect(model().trims).toBe(1);
    expect(model().recreates).toBe(1);
  });

  it('overlapping checks share one run', async () => {
    const { manager, model } = await setup();
    const before = model().memoryCalls;
    const [a, b] = await Promise.all([manager.check(), manager.check()]);
    expect(a).toBe(b);
    expect(manager.counters.checks).toBe(1);
    expect(model().memoryCalls - before).toBe(1);
  });
});

describe('idle unload', () => {
  it('frees the model after MODEL_IDLE_UNLOAD_S without work; concurrent next requests share one load', async () => {
    const { manager, host, clock, models } = await setup({ modelIdleUnloadS: 600 });
    await host.transcribe(new Float32Array(10));
    clock.advanceS(300);
    await manager.check();
    expect(host.state).toBe('ready');
    clock.advanceS(301);
    await manager.check();
    expect(host.state).toBe('unloaded');
    expect(models[0]?.disposed).toBe(true);
    const results = await Promise.all([0, 1, 2, 3].map(() => host.transcribe(new Float32Array(10))));
    expect(results).toHaveLength(4);
    expect(models).toHaveLength(2);
    expect(host.stats()).toMatchObject({ loads: 2, unloads: 1, state: 'ready' });
    const stats = await manager.getStats();
    expect(stats.model).toMatchObject({ loads: 2, unloads: 1, idle_unload_s: 600 });
  });

  it('never unloads a model with work in flight', async () => {
    const { manager, host, clock, model } = await setup({ modelIdleUnloadS: 60 });
    const m = model();
    let release!: () => void;
    m.transcribe = () => new Promise((r) => (release = () => r({ text: 'late', segments: [], language: 'en', durationS: 1, timings: { melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: 1 } })));
    const pending = host.transcribe(new Float32Array(10));
    await new Promise((r) => setTimeout(r, 5));
    clock.advanceS(3600);
    await manager.check();
    expect(host.state).toBe('ready');
    release();
    expect((await pending).text).toBe('late');
  });
});

describe('stats and logs', () => {
  it('carry the seed fields with the figures the probes gave', async () => {
    const { manager, model } = await setup({}, () => 512);
    model().gpuUsedMb = 3000;
    await manager.check();
    const stats = await manager.getStats();
    expect(stats.memory).toMatchObject({ process_mb: 512, system_percent: 25, gpu_mb: 3000, gpu_total_mb: 16_384, gpu_percent: 18.3, threshold_mb: 4096, gpu_threshold_mb: 2048 });
    expect(stats.temp_files).toMatchObject({ count: 3, size_mb: 3, oldest_age_s: 12 });
    expect(stats.model).toMatchObject({ state: 'ready', reload_count: 0, last_reload: null, weights_mb: 77, state_mb: 150, states: { total: 1 } });
    expect(stats.cleanup.checks).toBe(1);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it('report no GPU as null', async () => {
    const { manager } = await setup();
    const stats = await manager.getStats();
    expect(stats.memory.gpu_mb).toBeNull();
    expect(stats.memory.gpu_percent).toBeNull();
  });

  describe('on timers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('checks every CLEANUP_INTERVAL_S, logs "Memory" stats every STATS_LOG_INTERVAL_S, and logs a failing check instead of throwing', async () => {
      vi.useFakeTimers();
      const { manager, logger, model } = await setup({ cleanupIntervalS: 30, statsLogIntervalS: 300 });
      manager.start();
      await vi.advanceTimersByTimeAsync(30_000);
      expect(manager.counters.checks).toBe(1);
      model().failMemory = new Error('probe exploded');
      await vi.advanceTimersByTimeAsync(30_000);
      expect(manager.counters.errors).toBe(1);
      expect(logger.records.some((e) => e.level === 'error' && e.msg === 'Memory check failed')).toBe(true);
      model().failMemory = null;
      await vi.advanceTimersByTimeAsync(240_000);
      const statsLines = logger.records.filter((e) => e.msg === 'Memory stats');
      expect(statsLines).toHaveLength(1);
      expect((statsLines[0]?.obj as { stats: { memory: object } }).stats.memory).toBeDefined();
      await manager.close();
      const checks = manager.counters.checks;
      await vi.advanceTimersByTimeAsync(120_000);
      expect(manager.counters.checks).toBe(checks);
    });
  });
});

describe('over the real native core', () => {
  const mini = useSyntheticModel('mini', 'memory-native');

  it('trim under pressure frees the idle whisper states and RSS comes down', async () => {
    // Always "over": forces the trim rung, then a reload (no minimum interval here).
    const settings = { ...defaultMemorySettings(), memoryThresholdMb: 64, modelReloadMinIntervalS: 0 };
    const host = new ModelHost({ path: mini.path, loadOptions: { threads: 2, maxStates: 2 } });
    const manager = new MemoryManager({ settings, model: host });
    try {
      await Promise.all([host.transcribe(syllableTones(3)), host.transcribe(syllableTones(3))]);
      const before = await manager.getStats();
      expect(before.model.states).toMatchObject({ total: 2, idle: 2 });
      const run = await manager.check();
      const trim = run.rungs.find((r) => r.level === 'aggressive')?.trim;
      expect(trim?.statesFreed).toBe(2);
      expect(trim?.rssReleasedBytes).toBeGreaterThan(10 * MB);
      const after = await manager.getStats();
      expect(after.model.states).toMatchObject({ total: 0 });
      expect(after.memory.process_mb).toBeLessThan(before.memory.process_mb - 10);
      expect(after.model.reload_count).toBe(1); // still over 64 MB after the trim: it reloaded too
    } finally {
      await manager.close();
      await host.dispose();
    }
  });
});
