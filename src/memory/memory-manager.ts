// The backend half of talk2me's memory management: a background check on a timer that measures
// (RSS, heap, system memory, GPU, the model's own accounting), climbs the cleanup ladder as far as
// the figures require, unloads an idle model, expires idle sessions, and reports it all. It also
// says when the instance is under memory pressure (readiness reads it) and owns the predictive
// admission of transcriptions that would need a new whisper state.
import { silentLogger, type Logger } from '../shared/logger.js';
import { AudioProcessingContext, type AudioProcessingOptions, type TempFileSource } from './temp-files/index.js';
import { CleanupLadder, type CleanupLevel, type LadderForce, type LadderRun, type SweepableFiles } from './cleanup-ladder.js';
import { PredictiveAdmission, refusalRetryAfterS } from './admission.js';
import { takeSample, toMb, type MemorySample } from './memory-sample.js';
import { clearLevelMb, PressureTracker, type MemoryPressure } from './memory-pressure.js';
import type { ModelHost, ModelHostStats } from '../model/host.js';
import { realProbes, type MemoryProbes } from './probes.js';
import type { MemorySettings } from './settings.js';

/** What the manager needs of the temp file registry. */
export interface ManagedTempFiles extends SweepableFiles {
  stats(): { count: number; bytes: number; oldestAgeMs: number | null };
}

/** What the manager needs of the session manager. */
export interface ManagedSessions {
  expireIdle(): { expired: number };
  stats(): object;
}

export interface MemoryManagerOptions {
  settings: MemorySettings;
  model: ModelHost;
  files?: ManagedTempFiles | null;
  sessions?: ManagedSessions | null;
  probes?: MemoryProbes;
  logger?: Logger;
  now?: () => number;
}

export interface CleanupCounters {
  checks: number;
  errors: number;
  byLevel: Record<CleanupLevel, number>;
  reloadsDeferred: number;
  last: { level: CleanupLevel; at: number; durationMs: number; freedBytes: number } | null;
}

export interface MemoryStats {
  timestamp: string;
  uptime_s: number;
  memory: {
    process_mb: number;
    heap_used_mb: number;
    heap_total_mb: number;
    external_mb: number;
    system_percent: number;
    system_available_mb: number;
    gpu_mb: number | null;
    gpu_total_mb: number | null;
    gpu_percent: number | null;
    gpu_baseline_mb: number | null;
    threshold_mb: number;
    gpu_threshold_mb: number;
  };
  temp_files: { count: number; size_mb: number; oldest_age_s: number | null; dir: string };
  model: {
    state: ModelHostStats['state'];
    path: string;
    reload_count: number;
    reload_failures: number;
    last_reload: string | null;
    last_reload_ok: boolean | null;
    last_reload_reason: string | null;
    last_reload_error: string | null;
    loads: number;
    unloads: number;
    inflight: number;
    queued: number;
    idle_unload_s: number;
    last_activity: string | null;
    trim_policy: string;
    weights_mb: number | null;
    state_mb: number | null;
    states: { total: number; idle: number; busy: number; max: number } | null;
    draining_contexts: number;
  };
  cleanup: {
    interval_s: number;
    checks: number;
    errors: number;
    by_level: Record<CleanupLevel, number>;
    reloads_deferred: number;
    last: { level: CleanupLevel; at: string; duration_ms: number; freed_mb: number } | null;
  };
  pressure: { active: boolean; reason: string | null; since: string | null; clear_below_mb: number; gpu_clear_below_mb: number };
  predictive_admission: {
    enabled: boolean;
    state_cost_mb: number | null;
    state_cost_source: string;
    decisions: { admitted: number; waited: number; refused: number };
    waiting: number;
    held_for_state: boolean;
    last_refusal: { at: string; reason: string } | null;
  };
  sessions: object | null;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
const round1 = (n: number): number => Math.round(n * 10) / 10;

export class MemoryManager {
  readonly settings: MemorySettings;
  readonly model: ModelHost;
  readonly #files: ManagedTempFiles | null;
  readonly #sessions: ManagedSessions | null;
  readonly #probes: MemoryProbes;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #ladder: CleanupLadder;
  readonly #pressure: PressureTracker;
  readonly #startedAt: number;
  /** Gates transcriptions that would need a new whisper state (the HTTP layer runs them through it). */
  readonly admission: PredictiveAdmission;
  readonly #counters: CleanupCounters = {
    checks: 0,
    errors: 0,
    byLevel: { routine: 0, aggressive: 0, reload: 0 },
    reloadsDeferred: 0,
    last: null,
  };
  #running: Promise<LadderRun> | null = null;
  #lastRelief: number | null = null;
  #checkTimer: NodeJS.Timeout | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  #listeners = new Set<(run: LadderRun) => void>();

  constructor(options: MemoryManagerOptions) {
    this.settings = options.settings;
    this.model = options.model;
    this.#files = options.files ?? null;
    this.#sessions = options.sessions ?? null;
    this.#probes = options.probes ?? realProbes;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#pressure = new PressureTracker(this.settings);
    this.admission = new PredictiveAdmission({
      enabled: this.settings.predictiveAdmission,
      thresholds: this.settings,
      model: this.model,
      probes: this.#probes,
      retryAfterS: refusalRetryAfterS(this.settings.cleanupIntervalS),
      onRefuse: () => this.#relieve(),
      logger: this.#logger,
      now: this.#now,
    });
    this.#ladder = new CleanupLadder({
      settings: this.settings,
      model: this.model,
      files: this.#files,
      probes: this.#probes,
      logger: this.#logger,
      now: this.#now,
      onMeasure: (sample, first) => {
        const was = this.#pressure.state.active;
        this.#pressure.observeLadder(sample, first);
        this.admission.observe(sample.model);
        this.#logPressureChange(was);
      },
    });
  }

  // A refusal with nothing running means memory the process holds without any whisper state in
  // use: heap the allocator has not given back is what can still come down, so the ladder trims at
  // the aggressive level (never a reload: that is for RSS over the threshold), at most once per
  // check interval however many requests are refused.
  #relieve(): void {
    const now = this.#now();
    if (this.#lastRelief !== null && now - this.#lastRelief < this.settings.cleanupIntervalS * 1000) return;
    this.#lastRelief = now;
    this.check({ aggressive: true, reload: false }).catch((err: unknown) => {
      this.#counters.errors++;
      this.#logger.error({ err }, 'Memory check failed');
    });
  }

  /** Memory pressure as the ladder last saw it: over a threshold while it works on it. */
  get pressure(): MemoryPressure {
    return this.#pressure.state;
  }

  /**
   * The same, after a fresh reading when under pressure, so pressure ends as soon as memory is
   * back under the clear level rather than at the next check.
   */
  async currentPressure(): Promise<MemoryPressure> {
    if (!this.#pressure.state.active) return this.#pressure.state;
    try {
      this.#observe(await takeSample(this.#probes, this.model, this.#now()));
    } catch (err) {
      // No fresh reading: the last one stands (the next check takes another).
      this.#logger.warn({ err }, 'Memory: no reading for readiness');
    }
    return this.#pressure.state;
  }

  #observe(sample: MemorySample): void {
    const was = this.#pressure.state.active;
    this.#pressure.observeReading(sample);
    this.admission.observe(sample.model);
    this.#logPressureChange(was);
  }

  #logPressureChange(was: boolean): void {
    const now = this.#pressure.state;
    if (now.active === was) return;
    if (now.active) this.#logger.warn({ reason: now.reason }, 'Memory: under pressure; not ready until memory is back under the threshold');
    else this.#logger.info({}, 'Memory: pressure over; ready again');
  }

  get counters(): Readonly<CleanupCounters> {
    return this.#counters;
  }

  /** Called after every ladder run (metrics hook in). */
  onCleanup(listener: (run: LadderRun) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts the background check and the periodic stats line. Timers are unref'd. */
  start(): void {
    if (this.#checkTimer) return;
    this.#checkTimer = setInterval(() => void this.#backgroundCheck(), this.settings.cleanupIntervalS * 1000);
    this.#statsTimer = setInterval(() => void this.#logStats(), this.settings.statsLogIntervalS * 1000);
    this.#checkTimer.unref();
    this.#statsTimer.unref();
  }

  stop(): void {
    if (this.#checkTimer) clearInterval(this.#checkTimer);
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#checkTimer = this.#statsTimer = null;
  }

  /**
   * One check: the ladder, then idle unload and session expiry. Overlapping calls share the run in
   * progress (so a slow reload never stacks up checks behind it).
   */
  check(force?: LadderForce): Promise<LadderRun> {
    if (this.#running && !force) return this.#running;
    const previous = this.#running ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.#check(force));
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = null;
    }).catch(() => undefined);
    return run;
  }

  /** For the admin endpoint: a check that climbs at least to `aggressive` / `reload` when asked. */
  cleanup(force: LadderForce = {}): Promise<LadderRun> {
    return this.check({ aggressive: force.aggressive ?? false, reload: force.reload ?? false });
  }

  async #check(force?: LadderForce): Promise<LadderRun> {
    const run = await this.#ladder.run(force);
    this.#counters.checks++;
    for (const rung of run.rungs) {
      if (rung.level === 'reload' && rung.reload?.deferredS !== undefined) this.#counters.reloadsDeferred++;
    }
    this.#counters.byLevel[run.level]++;
    this.#counters.last = { level: run.level, at: this.#now(), durationMs: run.durationMs, freedBytes: run.freedBytes };
    await this.model.unloadIfIdle();
    if (this.#sessions) {
      const { expired } = this.#sessions.expireIdle();
      if (expired > 0) this.#logger.info({ expired }, `Memory: expired ${expired} idle session(s)`);
    }
    if (this.settings.debugMemory) this.#logger.debug({ level: run.level, durationMs: run.durationMs }, 'Memory check');
    for (const listener of this.#listeners) listener(run);
    return run;
  }

  async #backgroundCheck(): Promise<void> {
    try {
      await this.check();
    } catch (err) {
      this.#counters.errors++;
      this.#logger.error({ err }, 'Memory check failed');
    }
  }

  async #logStats(): Promise<void> {
    try {
      this.#logger.info({ stats: await this.getStats() }, 'Memory stats');
    } catch (err) {
      this.#logger.error({ err }, 'Memory stats failed');
    }
  }

  /** A fresh reading of everything, in the shape GET /admin/memory returns. */
  async getStats(): Promise<MemoryStats> {
    const sample: MemorySample = await takeSample(this.#probes, this.model, this.#now());
    this.#observe(sample);
    const host = this.model.stats();
    const pressure = this.#pressure.state;
    const admission = this.admission.stats();
    const files = this.#files?.stats() ?? { count: 0, bytes: 0, oldestAgeMs: null };
    const m = sample.model;
    const baseline = this.#ladder.gpuBaselineBytes;
    const last = this.#counters.last;
    return {
      timestamp: iso(sample.at) as string,
      uptime_s: Math.round((this.#now() - this.#startedAt) / 1000),
      memory: {
        process_mb: toMb(sample.rssBytes),
        heap_used_mb: toMb(sample.heapUsedBytes),
        heap_total_mb: toMb(sample.heapTotalBytes),
        external_mb: toMb(sample.externalBytes),
        system_percent: round1(sample.systemPercent),
        system_available_mb: toMb(sample.systemAvailableBytes),
        gpu_mb: sample.gpu ? toMb(sample.gpu.usedBytes) : null,
        gpu_total_mb: sample.gpu ? toMb(sample.gpu.totalBytes) : null,
        gpu_percent: sample.gpu && sample.gpu.totalBytes > 0 ? round1((100 * sample.gpu.usedBytes) / sample.gpu.totalBytes) : null,
        gpu_baseline_mb: sample.gpu && baseline !== null ? toMb(baseline) : null,
        threshold_mb: this.settings.memoryThresholdMb,
        gpu_threshold_mb: this.settings.gpuMemoryThresholdMb,
      },
      temp_files: {
        count: files.count,
        size_mb: toMb(files.bytes),
        oldest_age_s: files.oldestAgeMs === null ? null : Math.round(files.oldestAgeMs / 1000),
        dir: this.settings.uploadDir,
      },
      model: {
        state: host.state,
        path: host.path,
        reload_count: host.reloadCount,
        reload_failures: host.reloadFailures,
        last_reload: iso(host.lastReload?.at),
        last_reload_ok: host.lastReload ? host.lastReload.ok : null,
        last_reload_reason: host.lastReload?.reason ?? null,
        last_reload_error: host.lastReload?.error ?? null,
        loads: host.loads,
        unloads: host.unloads,
        inflight: host.inflight,
        queued: host.queued,
        idle_unload_s: host.idleUnloadS,
        last_activity: iso(host.lastActivityAt),
        trim_policy: host.trimPolicy,
        weights_mb: m ? toMb(m.weightsBytes) : null,
        state_mb: m ? toMb(m.bytesPerState) : null,
        states: m ? { ...m.states } : null,
        draining_contexts: m?.drainingContexts ?? 0,
      },
      cleanup: {
        interval_s: this.settings.cleanupIntervalS,
        checks: this.#counters.checks,
        errors: this.#counters.errors,
        by_level: { ...this.#counters.byLevel },
        reloads_deferred: this.#counters.reloadsDeferred,
        last: last ? { level: last.level, at: iso(last.at) as string, duration_ms: last.durationMs, freed_mb: toMb(last.freedBytes) } : null,
      },
      pressure: {
        active: pressure.active,
        reason: pressure.reason,
        since: iso(pressure.since),
        clear_below_mb: clearLevelMb(this.settings.memoryThresholdMb),
        gpu_clear_below_mb: clearLevelMb(this.settings.gpuMemoryThresholdMb),
      },
      predictive_admission: {
        enabled: admission.enabled,
        state_cost_mb: admission.stateCostBytes === null ? null : toMb(admission.stateCostBytes),
        state_cost_source: "whisper.cpp's accounting of one state's buffers (kv caches + compute buffers)",
        decisions: { ...admission.decisions },
        waiting: admission.waiting,
        held_for_state: admission.heldForState,
        last_refusal: admission.lastRefusal ? { at: iso(admission.lastRefusal.at) as string, reason: admission.lastRefusal.reason } : null,
      },
      sessions: this.#sessions?.stats() ?? null,
    };
  }

  /**
   * The temp files of one piece of audio work, removed when it ends even if it threw:
   * `await using ctx = memory.audioProcessing(); const path = ctx.createTempPath('wav');`
   */
  audioProcessing(options: AudioProcessingOptions = {}): AudioProcessingContext {
    return new AudioProcessingContext(this.#tempFileSource(), { logger: this.#logger, ...options });
  }

  #tempFileSource(): TempFileSource {
    const files = this.#files as Partial<TempFileSource> | null;
    if (!files?.createPath || !files.register || !files.has || !files.remove) {
      throw new Error('This memory manager has no temp file registry');
    }
    return files as TempFileSource;
  }

  /** Stops the timers and waits for a check in progress. The caller owns the model and files. */
  async close(): Promise<void> {
    this.stop();
    await this.#running?.catch(() => undefined);
  }
}

