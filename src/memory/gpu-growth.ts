// Tells GPU memory that keeps growing (fragmentation, leaked device buffers) from the growth a
// model is expected to show. The CUDA runtime keeps a few hundred MB after the first load for the
// life of the process, so the baseline is the first reading after a (re)load, and what the
// model's whisper states account for is added to it before anything counts as growth.
export interface GpuGrowthVerdict {
  baselineBytes: number;
  /** Use above baseline + expected state buffers (negative when below). */
  excessBytes: number;
  /** Consecutive checks with excess above the limit and not shrinking. */
  streak: number;
  fragmented: boolean;
}

export class GpuGrowthDetector {
  readonly #limitBytes: number;
  readonly #checks: number;
  #baseline: number | null = null;
  #previousExcess = Number.NEGATIVE_INFINITY;
  #streak = 0;

  constructor(limitBytes: number, checks: number) {
    this.#limitBytes = limitBytes;
    this.#checks = checks;
  }

  /** After a load or reload: the next reading becomes the baseline. */
  reset(): void {
    this.#baseline = null;
    this.#previousExcess = Number.NEGATIVE_INFINITY;
    this.#streak = 0;
  }

  get baselineBytes(): number | null {
    return this.#baseline;
  }

  observe(usedBytes: number, expectedStateBytes: number): GpuGrowthVerdict {
    if (this.#baseline === null) this.#baseline = usedBytes - expectedStateBytes;
    const excess = usedBytes - expectedStateBytes - this.#baseline;
    this.#streak = excess > this.#limitBytes && excess >= this.#previousExcess ? this.#streak + 1 : 0;
    this.#previousExcess = excess;
    return { baselineBytes: this.#baseline, excessBytes: excess, streak: this.#streak, fragmented: this.#streak >= this.#checks };
  }
}
