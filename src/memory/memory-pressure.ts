// Whether this instance is under memory pressure, as the cleanup ladder sees it: RSS or GPU memory
// over its threshold while the ladder works on it. Readiness reads it, so a load balancer sends
// work elsewhere instead of queueing it behind a trim or a reload.
//
// Pressure starts when a reading the ladder takes is over a threshold (its opening reading, or one
// after trimming). It ends with hysteresis, so an instance hovering at its threshold does not flip
// in and out of a load balancer's pool with every reading:
//   - at once, when any fresh reading (the ladder's, /ready's, the stats') has both RSS and GPU
//     memory under CLEAR_FRACTION of their thresholds: room for more than one whisper state at
//     tiny.en size under the default MEMORY_THRESHOLD_MB;
//   - or when a later ladder run opens with a reading under the thresholds: memory has stayed
//     there for a whole check interval with nothing left for the ladder to do. Without this, memory
//     that settles between the two levels would keep the instance out of the pool for good.
import { MB, overThreshold, toMb, type MemorySample, type Thresholds } from './memory-sample.js';

/** Pressure ends at once when every reading is under this fraction of its threshold. */
export const CLEAR_FRACTION = 0.95;

export interface MemoryPressure {
  active: boolean;
  /** The threshold crossed, as the reading that started it showed. */
  reason: string | null;
  /** When it started (ms since the epoch). */
  since: number | null;
}

type Reading = Pick<MemorySample, 'at' | 'rssBytes' | 'gpu'>;

export class PressureTracker {
  readonly #thresholds: Thresholds;
  #state: MemoryPressure = { active: false, reason: null, since: null };

  constructor(thresholds: Thresholds) {
    this.#thresholds = thresholds;
  }

  get state(): MemoryPressure {
    return { ...this.#state };
  }

  /** A reading the cleanup ladder acts on; `first` is the one a run opens with. */
  observeLadder(sample: Reading, first: boolean): void {
    const over = overThreshold(sample, this.#thresholds);
    if (over !== null) {
      if (!this.#state.active) this.#state = { active: true, reason: over, since: sample.at };
      return;
    }
    if (first || this.#clear(sample)) this.#end();
  }

  /** Any other fresh reading: it can end pressure (under the clear level), never start it. */
  observeReading(sample: Reading): void {
    if (this.#state.active && this.#clear(sample)) this.#end();
  }

  /** Both figures under CLEAR_FRACTION of their thresholds. */
  #clear(sample: Reading): boolean {
    const { memoryThresholdMb, gpuMemoryThresholdMb } = this.#thresholds;
    const lowered = { memoryThresholdMb: memoryThresholdMb * CLEAR_FRACTION, gpuMemoryThresholdMb: gpuMemoryThresholdMb * CLEAR_FRACTION };
    return overThreshold(sample, lowered) === null;
  }

  #end(): void {
    this.#state = { active: false, reason: null, since: null };
  }
}

/** The level under which pressure clears at once, for the stats. */
export function clearLevelMb(thresholdMb: number): number {
  return toMb(thresholdMb * CLEAR_FRACTION * MB);
}
