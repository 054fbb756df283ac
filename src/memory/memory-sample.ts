// One reading of everything the memory manager watches, taken in one place so the ladder, the
// stats and the logs all speak of the same figures.
import type { ModelMemory } from '../native/index.js';
import type { ModelHost } from '../model/host.js';
import type { GpuReading, MemoryProbes } from './probes.js';
import type { MemorySettings } from './settings.js';

export interface MemorySample {
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  systemTotalBytes: number;
  systemAvailableBytes: number;
  systemPercent: number;
  gpu: GpuReading | null;
  model: ModelMemory | null;
}

export async function takeSample(probes: MemoryProbes, model: ModelHost, now: number): Promise<MemorySample> {
  const modelMemory = await model.memory();
  const proc = probes.process();
  const system = probes.system();
  const gpu = modelMemory?.gpu
    ? { usedBytes: modelMemory.gpu.total - modelMemory.gpu.free, totalBytes: modelMemory.gpu.total, device: modelMemory.gpu.device, name: modelMemory.gpu.name }
    : null;
  return {
    at: now,
    ...proc,
    systemTotalBytes: system.totalBytes,
    systemAvailableBytes: system.availableBytes,
    systemPercent: system.totalBytes > 0 ? (100 * (system.totalBytes - system.availableBytes)) / system.totalBytes : 0,
    gpu,
    model: modelMemory,
  };
}

/** What the model's whisper states hold, which counts as expected GPU use, not growth. */
export function stateBytes(sample: MemorySample): number {
  return sample.model ? sample.model.states.total * sample.model.bytesPerState : 0;
}

export const MB = 1024 * 1024;
export const toMb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

export type Thresholds = Pick<MemorySettings, 'memoryThresholdMb' | 'gpuMemoryThresholdMb'>;

/**
 * Names the threshold that RSS, or GPU memory in use, would cross with `extraBytes` more (what a
 * new whisper state would add); null when both stay at or under theirs.
 */
export function overThreshold(sample: { rssBytes: number; gpu: { usedBytes: number } | null }, thresholds: Thresholds, extraBytes = 0): string | null {
  const { memoryThresholdMb, gpuMemoryThresholdMb } = thresholds;
  const plus = extraBytes > 0 ? ` + ${toMb(extraBytes)} MB` : '';
  if (sample.rssBytes + extraBytes > memoryThresholdMb * MB) return `RSS ${toMb(sample.rssBytes)} MB${plus} over ${memoryThresholdMb} MB`;
  if (sample.gpu && sample.gpu.usedBytes + extraBytes > gpuMemoryThresholdMb * MB) {
    return `GPU memory ${toMb(sample.gpu.usedBytes)} MB${plus} over ${gpuMemoryThresholdMb} MB`;
  }
  return null;
}

/** The figures a log line carries for a sample. */
export function sampleFigures(s: MemorySample): Record<string, number | null> {
  return {
    rssMb: toMb(s.rssBytes),
    heapUsedMb: toMb(s.heapUsedBytes),
    systemPercent: Math.round(s.systemPercent * 10) / 10,
    gpuUsedMb: s.gpu ? toMb(s.gpu.usedBytes) : null,
    statesTotal: s.model?.states.total ?? null,
  };
}
