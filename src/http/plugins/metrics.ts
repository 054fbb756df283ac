// The one prom-client Registry of the process: default process metrics plus talk2me's own. Most
// gauges are read at scrape time from the services, so they are never stale; counters that mirror
// the services' own counts advance by the difference since the last scrape.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { AdmissionOutcome } from '../../memory/admission.js';
import type { CleanupLevel } from '../../memory/cleanup-ladder.js';
import { MB } from '../../memory/memory-sample.js';
import type { ModelMemory } from '../../native/index.js';
import type { ServerConfig } from '../config.js';
import { readinessOf, type ReadinessState } from '../readiness.js';
import type { Services } from '../services.js';

export interface Talk2meMetrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  httpDuration: Histogram<'route' | 'method'>;
  transcriptionDuration: Histogram<'route'>;
  audioSeconds: Counter<'route'>;
  requestsRejected: Counter<'code'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Talk2meMetrics;
  }
}

/** A counter that follows a monotonic count kept elsewhere. */
function follow(counter: Counter<string>, labels: Record<string, string>, seen: Map<string, number>, key: string, value: number): void {
  const delta = value - (seen.get(key) ?? 0);
  if (delta > 0) counter.inc(labels, delta);
  seen.set(key, value);
}

/**
 * The configured limits as gauges, so that alert rules compare a figure with this instance's own
 * setting (RSS with MEMORY_THRESHOLD_MB, ...) rather than with a number copied into the rules.
 * Settings are read once at start, so each is set once.
 */
function configuredLimits(registry: Registry, config: ServerConfig): void {
  const m = config.memory;
  const limits: Array<[name: string, help: string, value: number]> = [
    ['talk2me_memory_threshold_bytes', 'RSS above which memory is trimmed, then the model reloaded (MEMORY_THRESHOLD_MB)', m.memoryThresholdMb * MB],
    ['talk2me_gpu_memory_threshold_bytes', 'GPU memory in use above which the same happens (GPU_MEMORY_THRESHOLD_MB)', m.gpuMemoryThresholdMb * MB],
    ['talk2me_model_reload_min_interval_seconds', 'Least time between automatic model reloads (MODEL_RELOAD_MIN_INTERVAL_S)', m.modelReloadMinIntervalS],
    ['talk2me_temp_file_max_age_seconds', 'Age at which the routine sweep removes a temporary upload file (TEMP_FILE_MAX_AGE_S)', m.tempFileMaxAgeS],
    ['talk2me_queue_depth_max', 'Transcriptions that may wait for a slot before 503 (MAX_QUEUE)', config.maxQueue],
  ];
  for (const [name, help, value] of limits) new Gauge({ name, help, registers: [registry] }).set(value);
}

export function createMetrics(services: Services, readiness: ReadinessState = { shuttingDown: false }): Talk2meMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const seen = new Map<string, number>();

  // One read of the model's memory serves the GPU, state and weights gauges of a scrape.
  let reading: { at: number; memory: Promise<ModelMemory | null> } | null = null;
  const modelMemory = (): Promise<ModelMemory | null> => {
    if (!reading || Date.now() - reading.at > 250) reading = { at: Date.now(), memory: services.model.memory().catch(() => null) };
    return reading.memory;
  };
  new Gauge({
    name: 'talk2me_gpu_memory_used_bytes',
    help: 'GPU memory in use on the model device (cudaMemGetInfo); absent without a GPU',
    registers: [registry],
    async collect() {
      const gpu = (await modelMemory())?.gpu;
      // A label-less gauge starts at 0; removing its series is what leaves it absent.
      if (gpu) this.set(gpu.total - gpu.free);
      else this.remove();
    },
  });
  new Gauge({
    name: 'talk2me_gpu_memory_total_bytes',
    help: 'GPU memory on the model device; absent without a GPU',
    registers: [registry],
    async collect() {
      const gpu = (await modelMemory())?.gpu;
      if (gpu) this.set(gpu.total);
      else this.remove();
    },
  });
  new Gauge({
    name: 'talk2me_whisper_states',
    help: 'Whisper states (per-transcription buffers), idle or busy; sum() is every state held',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const states = (await modelMemory())?.states;
      for (const state of ['idle', 'busy'] as const) this.set({ state }, states?.[state] ?? 0);
    },
  });
  new Gauge({
    name: 'talk2me_whisper_states_max',
    help: 'Whisper states the model may hold at once (MAX_CONCURRENCY)',
    registers: [registry],
    async collect() {
      this.set((await modelMemory())?.states.max ?? 0);
    },
  });
  new Gauge({
    name: 'talk2me_model_weights_bytes',
    help: 'Bytes of the loaded model weights (0 when unloaded)',
    registers: [registry],
    async collect() {
      this.set((await modelMemory())?.weightsBytes ?? 0);
    },
  });
  new Gauge({
    name: 'talk2me_temp_files',
    help: 'Temporary upload files tracked',
    registers: [registry],
    collect() {
      this.set(services.files.stats().count);
    },
  });
  new Gauge({
    name: 'talk2me_temp_files_bytes',
    help: 'Bytes of the tracked temporary upload files',
    registers: [registry],
    collect() {
      this.set(services.files.stats().bytes);
    },
  });
  new Gauge({
    name: 'talk2me_temp_files_oldest_age_seconds',
    help: 'Age of the oldest tracked temporary upload file (0 when none)',
    registers: [registry],
    collect() {
      this.set((services.files.stats().oldestAgeMs ?? 0) / 1000);
    },
  });
  new Counter({
    name: 'talk2me_model_reloads_total',
    help: 'Model reloads (recreate) that succeeded',
    registers: [registry],
    collect() {
      follow(this, {}, seen, 'reloads', services.model.stats().reloadCount);
    },
  });
  new Counter({
    name: 'talk2me_memory_cleanups_total',
    help: 'Memory checks by the highest cleanup level they reached',
    labelNames: ['level'],
    registers: [registry],
    collect() {
      const byLevel = services.memory.counters.byLevel;
      for (const level of Object.keys(byLevel) as CleanupLevel[]) follow(this, { level }, seen, `cleanups:${level}`, byLevel[level]);
    },
  });
  const cleanupDuration = new Histogram({
    name: 'talk2me_memory_cleanup_duration_seconds',
    help: 'Duration of memory checks, by level reached',
    labelNames: ['level'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  services.memory.onCleanup((run) => cleanupDuration.observe({ level: run.level }, run.durationMs / 1000));
  new Gauge({
    name: 'talk2me_ready',
    help: 'Whether this instance takes work now, as GET /ready answers (1) or not (0)',
    registers: [registry],
    async collect() {
      this.set((await readinessOf(services, readiness)).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'talk2me_memory_pressure',
    help: 'Whether RSS or GPU memory is over its threshold while the cleanup ladder works on it (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(services.memory.pressure.active ? 1 : 0);
    },
  });
  new Counter({
    name: 'talk2me_admission_memory_total',
    help: 'Predictive admission of transcriptions: started at once, started after waiting for a whisper state, or refused (503 MEMORY_PRESSURE)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const { decisions } = services.memory.admission.stats();
      for (const outcome of Object.keys(decisions) as AdmissionOutcome[]) follow(this, { outcome }, seen, `admission:${outcome}`, decisions[outcome]);
    },
  });
  new Gauge({
    name: 'talk2me_whisper_state_cost_bytes',
    help: "What a new whisper state costs (whisper.cpp's accounting of its buffers), as predictive admission counts it; absent until measured",
    registers: [registry],
    collect() {
      const cost = services.memory.admission.stateCostBytes;
      if (cost === null) this.remove();
      else this.set(cost);
    },
  });
  new Gauge({
    name: 'talk2me_queue_depth',
    help: 'Transcriptions waiting for a slot',
    registers: [registry],
    collect() {
      this.set(services.queue.queued);
    },
  });
  new Gauge({
    name: 'talk2me_inflight_transcriptions',
    help: 'Transcriptions running',
    registers: [registry],
    collect() {
      this.set(services.queue.running);
    },
  });
  new Gauge({
    name: 'talk2me_sessions_active',
    help: 'Sessions with state held',
    registers: [registry],
    collect() {
      this.set(services.sessions.stats().active);
    },
  });
  configuredLimits(registry, services.config);
  return {
    registry,
    httpRequests: new Counter({
      name: 'talk2me_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'talk2me_http_request_duration_seconds',
      help: 'Time from request to response, by route pattern and method',
      labelNames: ['route', 'method'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    transcriptionDuration: new Histogram({
      name: 'talk2me_transcription_duration_seconds',
      help: 'Time from request to transcript (upload, queue wait, decoding, whisper), by route',
      labelNames: ['route'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    audioSeconds: new Counter({ name: 'talk2me_audio_seconds_total', help: 'Seconds of audio transcribed', labelNames: ['route'], registers: [registry] }),
    requestsRejected: new Counter({ name: 'talk2me_requests_rejected_total', help: 'Requests refused, by error code', labelNames: ['code'], registers: [registry] }),
  };
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, options: { readiness?: ReadinessState }) => {
    const metrics = createMetrics(app.services, options.readiness);
    app.decorate('metrics', metrics);
    // Labelled by the route's pattern, never the raw URL: a scanner's random paths must not create
    // a series each (they all count as "unmatched").
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
      metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    });
  },
  { name: 'talk2me-metrics', dependencies: ['talk2me-services'] },
);
