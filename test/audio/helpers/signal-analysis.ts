/** Small measurements used to check decoded audio without listening to it. */

export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (x[i] ?? 0) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}

export function peak(x: ArrayLike<number>, from = 0, to = x.length): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(x[i] ?? 0));
  return m;
}

/** Frequency estimated from rising zero crossings between two sample indices. */
export function zeroCrossingFrequency(x: ArrayLike<number>, sampleRate: number, from = 0, to = x.length): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = from + 1; i < to; i++) {
    if ((x[i - 1] ?? 0) < 0 && (x[i] ?? 0) >= 0) {
      if (first < 0) first = i;
      else count++;
      last = i;
    }
  }
  return count === 0 ? 0 : (count * sampleRate) / (last - first);
}

/** Amplitude of the component at `frequency` (Goertzel-style single-bin DFT), for a sine of amplitude A it returns ~A. */
export function toneAmplitude(x: ArrayLike<number>, frequency: number, sampleRate: number, from = 0, to = x.length): number {
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * frequency * i) / sampleRate;
    re += (x[i] ?? 0) * Math.cos(w);
    im -= (x[i] ?? 0) * Math.sin(w);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}
