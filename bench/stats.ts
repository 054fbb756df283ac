/**
 * The statistics the benchmarks report and the way they print numbers: medians, quantiles and the
 * least-squares line (src/shared/stats.ts, which `talk2me soak` uses too), the range of a sample,
 * fixed-digit formatting. One copy, so that every benchmark means the same thing by "median".
 */

export { linearFit, median, quantile, upperMedian, type LinearFit } from '../src/shared/stats.js';

/** Smallest..largest of `xs`, each with `digits` decimals. */
export const range = (xs: readonly number[], digits = 3): string => `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`;

export const f0 = (x: number): string => x.toFixed(0);
export const f1 = (x: number): string => x.toFixed(1);
export const f2 = (x: number): string => x.toFixed(2);
export const f3 = (x: number): string => x.toFixed(3);
