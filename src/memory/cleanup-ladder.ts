// The escalating cleanup, one rung at a time:
//   routine     every check: remove temp files older than the normal age;
//   aggressive  over a threshold (RSS or GPU): remove temp files older than the aggressive age and
//               trim (free idle whisper states, CUDA buffers, malloc_trim);
//   reload      still over after trimming, or GPU use that keeps growing above its post-load
//               baseline, once the minimum interval since the last (re)load has passed: recreate
//               the model (in-flight work finishes on the old context).
// Each rung is logged with before/after figures and its duration, and counted by the caller.
import type { TrimReport } from '../native/index.js';
import type { Logger } from '../shared/logger.js';
import { GpuGrowthDetector, type GpuGrowthVerdict } from './gpu-growth.js';
import { MB, overThreshold, sampleFigures, stateBytes, takeSample, toMb, type MemorySample } from './memory-sample.js';
import type { ModelHost } from '../model/host.js';
import type { MemoryProbes } from './probes.js';
import type { MemorySettings } from './settings.js';

export type CleanupLevel = 'routine' | 'aggressive' | 'reload';

/** What the ladder needs of the temp file registry. */
export interface SweepableFiles {
  sweep(maxAgeMs: number): Promise<{ removed: number; bytes: number }>;
}

export interface RungReport {
  level: CleanupLevel;
  reason: string;
  durationMs: number;
  before: Record<string, number | null>;
  after?: Record<string, number | null>;
  filesRemoved?: number;
  fileBytesRemoved?: number;
  trim?: TrimReport | null;
  reload?: { ok: boolean; error?: string; deferredS?: number };
}

export interface LadderRun {
  level: CleanupLevel;
  rungs: RungReport[];
  sample: MemorySample;
  gpuGrowth: GpuGrowthVerdict | null;
  /** RSS released plus temp file bytes removed during this run. */
  freedBytes: number;
  durationMs: number;
}

export interface LadderForce {
  aggressive?: boolean;
  reload?: boolean;
}

interface LadderDeps {
  settings: MemorySettings;
  model: ModelHost;
  files: SweepableFiles | null;
  probes: MemoryProbes;
  logger: Logger;
  now: () => number;
  /** Every reading the ladder acts on, as it is taken (`first`: the one a run opens with). */
  onMeasure?: (sample: MemorySample, first: boolean) => void;
}

export class CleanupLadder {
  readonly #deps: LadderDeps;
  readonly #gpu: GpuGrowthDetector;
  #lastLoadCount = -1;
  #lastReloadCount = -1;

  constructor(deps: LadderDeps) {
    this.#deps = deps;
    this.#gpu = new GpuGrowthDetector(deps.settings.gpuGrowthMb * MB, deps.settings.gpuGrowthChecks);
  }

  get gpuBaselineBytes(): number | null {
    return this.#gpu.baselineBytes;
  }

  /** One pass: measure, then climb as far as the figures (or `force`, from an admin) require. */
  async run(force: LadderForce = {}): Promise<LadderRun> {
    const { settings, logger, now } = this.#deps;
    const started = now();
    const rungs: RungReport[] = [];
    let sample = await this.#measure(true);
    const gpuGrowth = this.#observeGpu(sample);
    let freed = 0;

    const routine = await this.#sweep('routine', 'every check', settings.tempFileMaxAgeS, sample);
    rungs.push(routine);
    freed += routine.fileBytesRemoved ?? 0;

    const over = this.#overThreshold(sample);
    const fragmented = gpuGrowth?.fragmented === true;
    if (over || fragmented || force.aggressive || force.reload) {
      const reason = over ?? (fragmented ? 'GPU memory keeps growing above its post-load baseline' : 'requested');
      const aggressive = await this.#aggressive(reason, sample);
      rungs.push(aggressive);
      freed += (aggressive.fileBytesRemoved ?? 0) + Math.max(0, (aggressive.trim?.rssBefore ?? 0) - (aggressive.trim?.rssAfter ?? 0));
      sample = await this.#measure();
      const stillOver = this.#overThreshold(sample);
      if (stillOver || fragmented || force.reload) {
        const why = force.reload ? 'requested' : stillOver ? `${stillOver} after trimming` : reason;
        rungs.push(await this.#reload(why, sample, force.reload === true));
        sample = await this.#measure();
      }
    }
    const level: CleanupLevel = rungs.some((r) => r.level === 'reload' && r.reload?.ok)
      ? 'reload'
      : rungs.some((r) => r.level === 'aggressive')
        ? 'aggressive'
        : 'routine';
    const run = { level, rungs, sample, gpuGrowth, freedBytes: freed, durationMs: now() - started };
    if (level !== 'routine' || settings.debugMemory) {
      logger.info({ level, freedMb: toMb(freed), durationMs: run.durationMs, ...sampleFigures(sample) }, `Memory cleanup (${level})`);
    }
    return run;
  }

  async #measure(first = false): Promise<MemorySample> {
    const sample = await takeSample(this.#deps.probes, this.#deps.model, this.#deps.now());
    const stats = this.#deps.model.stats();
    // A (re)load starts a new GPU baseline.
    if (stats.loads !== this.#lastLoadCount || stats.reloadCount !== this.#lastReloadCount) {
      this.#lastLoadCount = stats.loads;
      this.#lastReloadCount = stats.reloadCount;
      this.#gpu.reset();
    }
    this.#deps.onMeasure?.(sample, first);
    return sample;
  }

  /** The minimum reload interval runs from the last load or reload attempt, failed ones included, so a missing model file is not retried every check. */
  #lastModelChangeAt(): number | null {
    const stats = this.#deps.model.stats();
    const times = [stats.lastLoadAt, stats.lastReload?.at ?? null].filter((t): t is number => t !== null);
    return times.length > 0 ? Math.max(...times) : null;
  }

  #observeGpu(sample: MemorySample): GpuGrowthVerdict | null {
    return sample.gpu ? this.#gpu.observe(sample.gpu.usedBytes, stateBytes(sample)) : null;
  }

  /** Names the threshold crossed, or null. */
  #overThreshold(sample: MemorySample): string | null {
    return overThreshold(sample, this.#deps.settings);
  }

  async #sweep(level: CleanupLevel, reason: string, maxAgeS: number, before: MemorySample): Promise<RungReport> {
    const started = this.#deps.now();
    const swept = this.#deps.files ? await this.#deps.files.sweep(maxAgeS * 1000) : { removed: 0, bytes: 0 };
    const rung: RungReport = {
      level,
      reason,
      durationMs: this.#deps.now() - started,
      before: sampleFigures(before),
      filesRemoved: swept.removed,
      fileBytesRemoved: swept.bytes,
    };
    if (swept.removed > 0) this.#deps.logger.info({ ...rung }, `Memory: removed ${swept.removed} temp file(s) older than ${maxAgeS} s`);
    return rung;
  }

  async #aggressive(reason: string, before: MemorySample): Promise<RungReport> {
    const started = this.#deps.now();
    const rung = await this.#sweep('aggressive', reason, this.#deps.settings.tempFileMaxAgeAggressiveS, before);
    rung.trim = await this.#deps.model.trim();
    rung.after = sampleFigures(await takeSample(this.#deps.probes, this.#deps.model, this.#deps.now()));
    rung.durationMs = this.#deps.now() - started;
    this.#deps.logger.warn({ ...rung }, `Memory: aggressive cleanup (${reason})`);
    return rung;
  }

  async #reload(reason: string, before: MemorySample, requested: boolean): Promise<RungReport> {
    const { settings, model, logger, now } = this.#deps;
    const started = now();
    const rung: RungReport = { level: 'reload', reason, durationMs: 0, before: sampleFigures(before) };
    const changedAt = this.#lastModelChangeAt();
    const sinceMs = changedAt === null ? Number.POSITIVE_INFINITY : now() - changedAt;
    const waitMs = settings.modelReloadMinIntervalS * 1000 - sinceMs;
    if (!requested && waitMs > 0) {
      rung.reload = { ok: false, deferredS: Math.ceil(waitMs / 1000) };
      logger.warn({ ...rung }, `Memory: model reload deferred (${reason}); the minimum interval has ${rung.reload.deferredS} s to go`);
      return rung;
    }
    try {
      const report = await model.recreate(reason);
      rung.reload = report ? { ok: true } : { ok: false, error: 'no model loaded or a reload already running' };
    } catch (err) {
      rung.reload = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    rung.durationMs = now() - started;
    rung.after = sampleFigures(await takeSample(this.#deps.probes, model, now()));
    const log = rung.reload.ok ? logger.warn.bind(logger) : logger.error.bind(logger);
    log({ ...rung }, `Memory: model reload ${rung.reload.ok ? 'done' : 'failed'} (${reason})`);
    return rung;
  }
}
