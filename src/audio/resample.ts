/**
 * Band-limited sample-rate conversion with a Kaiser-windowed sinc filter, in polyphase form.
 *
 * Why not linear interpolation: when going down (44.1/48 kHz -> 16 kHz) everything between 8 kHz
 * and the source Nyquist folds back into the speech band as audible, whisper-visible aliasing
 * (a 12 kHz tone at 48 kHz would land at 4 kHz). A windowed sinc is an interpolator and an
 * anti-aliasing low-pass at once: its cutoff is set below the *lower* of the two Nyquist
 * frequencies, so the same code removes alias-prone content when decimating and suppresses
 * imaging when upsampling (8 kHz telephone audio -> 16 kHz).
 *
 * Why polyphase: for integer rates the output instants fall on only L = to/gcd(from, to)
 * distinct fractional positions between input samples (160 for 44.1k -> 16k, 1 for 48k -> 16k),
 * so the filter is evaluated once per position into a table and each output sample costs one
 * multiply-add per tap. Odd rates with more than MAX_PHASES positions round to the nearest of
 * MAX_PHASES precomputed positions; the timing error (< 1/2048 of a sample) is far below anything
 * audible and keeps the table small.
 */

/** Filter half-length in zero crossings of the sinc at the lower rate; sets transition width. */
const ZERO_CROSSINGS = 16;
/**
 * Kaiser shape: ~90 dB side-lobe rejection, so aliases sit well under 16-bit noise. With the
 * values here, going to 16 kHz the response is flat (< 0.5 dB) to 6.5 kHz, -6 dB at 7.2 kHz, and
 * anything above 8.5 kHz that would alias is attenuated by more than 90 dB.
 */
const KAISER_BETA = 9;
/** Cutoff as a fraction of the lower Nyquist, leaving room for the transition band to end near Nyquist. */
const CUTOFF = 0.9;
/** Most fractional positions precomputed (see above); bounds the table at ~1024 x taps floats. */
const MAX_PHASES = 1024;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0, by its power series (converges fast for beta <= 20). */
function besselI0(x: number): number {
  const halfX = x / 2;
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 200; k++) {
    term *= (halfX / k) * (halfX / k);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return sum;
}

interface PolyphaseFilter {
  /** phases x tapCount coefficients, each phase normalised to unity DC gain. */
  table: Float32Array;
  phases: number;
  tapCount: number;
  /** Taps before the output instant: the first tap reads input[base - tapsBefore]. */
  tapsBefore: number;
}

function designFilter(fromRate: number, toRate: number, exactPhases: number): PolyphaseFilter {
  // Cutoff in cycles per *input* sample, and the sinc's scale (2 * fc) that puts zeros at its period.
  const twoFc = (CUTOFF * Math.min(fromRate, toRate)) / fromRate;
  const halfWidth = ZERO_CROSSINGS / twoFc;
  const tapsBefore = Math.ceil(halfWidth) - 1;
  const tapCount = 2 * Math.ceil(halfWidth);
  const phases = Math.min(exactPhases, MAX_PHASES);
  const table = new Float32Array(phases * tapCount);
  const i0Beta = besselI0(KAISER_BETA);
  const coefficients = new Float64Array(tapCount);

  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let i = 0; i < tapCount; i++) {
      // Distance (in input samples) from the output instant to the input sample this tap reads.
      const d = frac + tapsBefore - i;
      const x = d / halfWidth;
      let h = 0;
      if (Math.abs(x) < 1) {
        const arg = Math.PI * twoFc * d;
        const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
        h = twoFc * sinc * (besselI0(KAISER_BETA * Math.sqrt(1 - x * x)) / i0Beta);
      }
      coefficients[i] = h;
      sum += h;
    }
    // Exact unity gain at DC for every phase, so a constant input stays exactly constant instead
    // of picking up a faint ripple at the phase-pattern rate.
    for (let i = 0; i < tapCount; i++) table[p * tapCount + i] = (coefficients[i] ?? 0) / sum;
  }
  return { table, phases, tapCount, tapsBefore };
}

/**
 * Recently used filters. A service sees the same few source rates over and over (44.1k, 48k, 8k),
 * and designing a table costs up to tens of milliseconds for odd rates; a handful of entries
 * (each at most MAX_PHASES x taps floats) bounds the memory this holds.
 */
const FILTER_CACHE_SIZE = 4;
const filterCache = new Map<string, PolyphaseFilter>();

function cachedFilter(fromRate: number, toRate: number, exactPhases: number): PolyphaseFilter {
  const key = `${fromRate}:${toRate}`;
  let filter = filterCache.get(key);
  if (filter === undefined) {
    filter = designFilter(fromRate, toRate, exactPhases);
    if (filterCache.size >= FILTER_CACHE_SIZE) {
      const oldest = filterCache.keys().next().value;
      if (oldest !== undefined) filterCache.delete(oldest);
    }
  } else {
    filterCache.delete(key); // re-inserted below as the most recently used
  }
  filterCache.set(key, filter);
  return filter;
}

/** Number of output samples for `inputLength` input samples: ceil(inputLength * to / from). */
export function resampledLength(inputLength: number, fromRate: number, toRate: number): number {
  const g = gcd(fromRate, toRate);
  return Math.ceil((inputLength * (toRate / g)) / (fromRate / g));
}

/** A resampling in progress: `output` is filled range by range, so long inputs can be done in slices. */
export interface ResampleJob {
  readonly output: Float32Array;
  /** Computes output samples [start, end); each depends only on the input, so any order works. */
  fill(start: number, end: number): void;
}

function checkRates(fromRate: number, toRate: number): void {
  for (const [name, rate] of [['fromRate', fromRate], ['toRate', toRate]] as const) {
    if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`${name} must be a positive integer, got ${rate}`);
  }
}

/** Sets up the resampling of `input` from `fromRate` to `toRate`; equal rates give a copy, already filled. */
export function resampleJob(input: Float32Array, fromRate: number, toRate: number): ResampleJob {
  checkRates(fromRate, toRate);
  if (fromRate === toRate) return { output: input.slice(), fill: () => undefined };

  const g = gcd(fromRate, toRate);
  const up = toRate / g; // L: distinct output positions per `down` input samples
  const down = fromRate / g; // M
  const { table, phases, tapCount, tapsBefore } = cachedFilter(fromRate, toRate, up);
  const output = new Float32Array(resampledLength(input.length, fromRate, toRate));
  const inLength = input.length;
  const stepWhole = Math.floor(down / up);
  const stepRest = down % up;

  const fill = (start: number, end: number): void => {
    // Output n sits at input time n * down / up = whole + rest / up; both advance by down / up
    // per output. (n * down stays far below 2^53 for any audio this service accepts.)
    let whole = Math.floor((start * down) / up);
    let rest = (start * down) % up;
    for (let n = start; n < end; n++) {
      let base = whole;
      let phase = rest;
      if (phases !== up) {
        phase = Math.round((rest * phases) / up);
        if (phase === phases) {
          phase = 0;
          base += 1;
        }
      }
      const first = base - tapsBefore;
      const coeffOffset = phase * tapCount;
      let acc = 0;
      if (first >= 0 && first + tapCount <= inLength) {
        for (let i = 0; i < tapCount; i++) acc += (input[first + i] as number) * (table[coeffOffset + i] as number);
      } else {
        // Near the ends part of the window hangs outside the input, which counts as silence.
        const from = Math.max(0, -first);
        const to = Math.min(tapCount, inLength - first);
        for (let i = from; i < to; i++) acc += (input[first + i] as number) * (table[coeffOffset + i] as number);
      }
      output[n] = acc;

      whole += stepWhole;
      rest += stepRest;
      if (rest >= up) {
        rest -= up;
        whole += 1;
      }
    }
  };
  return { output, fill };
}

/**
 * Resamples mono PCM from `fromRate` to `toRate` (positive integer rates in Hz). Returns a new
 * array of resampledLength(...) samples; output sample n is the band-limited input at time
 * n / toRate, with the signal taken as zero outside the input. Equal rates return a copy.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  const job = resampleJob(input, fromRate, toRate);
  job.fill(0, job.output.length);
  return job.output;
}

/**
 * Clamps samples into [-1, 1] in place. Needed after resampling: float sources may carry peaks
 * beyond full scale, and a band-limiting filter overshoots slightly near clipped edges (Gibbs),
 * while whisper.cpp expects normalised input.
 */
export function clampToUnitRange(pcm: Float32Array): Float32Array {
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i] as number;
    if (v > 1) pcm[i] = 1;
    else if (v < -1) pcm[i] = -1;
  }
  return pcm;
}
