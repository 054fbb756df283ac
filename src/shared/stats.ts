// The statistics talk2me reports about itself (`talk2me soak`) and its benchmarks share: medians,
// quantiles, a least-squares line. One copy, so that "median" and "slope" mean the same thing in
// the soak's report and in bench/RESULTS.md.

/** The middle value of `xs`, or the mean of the two middle values for an even count; NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * The q-quantile of values already sorted ascending: the value at index floor(q·n), clamped to the
 * last one (no interpolation, so it is always a measured value); NaN when empty.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/**
 * quantile(0.5) of `xs`: the same as median() for an odd count, the upper of the two middle values
 * for an even one (not their mean); NaN when empty.
 */
export function upperMedian(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

export interface LinearFit {
  slope: number;
  intercept: number;
  /** How much of the variation a line explains. */
  r2: number;
  /** Standard error of the slope (NaN with fewer than 3 points). */
  slopeError: number;
}

/** Least-squares line of y over x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: 0, intercept: ys[0] ?? 0, r2: 0, slopeError: Number.NaN };
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] as number;
    sy += ys[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  // Residual sum of squares = syy - slope * sxy; its variance over n - 2 degrees of freedom.
  const slopeError = n > 2 && sxx > 0 ? Math.sqrt(Math.max(0, syy - slope * sxy) / (n - 2) / sxx) : Number.NaN;
  return { slope, intercept: my - slope * mx, r2, slopeError };
}
