// Predictive admission: a transcription that would make the pool build a new whisper state starts
// only if RSS (and GPU memory in use, where there is a GPU) plus what a state costs stays under the
// thresholds. Otherwise it waits for a running transcription to hand its state back, or, when
// nothing is running that would, it is refused (MEMORY_PRESSURE, 503 with Retry-After) — instead of
// building the state, crossing the threshold and making the cleanup ladder reload the model under
// load afterwards.
//
// The cost of a state is measured, not assumed: it is whisper.cpp's own accounting of the buffers
// of one state (kv caches + compute buffers), which the native pool reads from whisper_init_state
// when it builds one (ModelMemory.bytesPerState). That is what a state reserves, so the prediction
// never comes out short: on a GPU the buffers are device memory in full, and on the CPU a state's
// RSS grows towards it as a run touches more of its pages (less for a short clip, see
// ../shared/memory-facts.md and bench/RESULTS.md), so a prediction from the RSS one request added
// would let a long clip cross the threshold. Until the loaded model has built its first state the
// cost is unknown, and the first state is admitted on the current figures alone.
//
// Decisions are taken one at a time, first come first served, each on a fresh reading, and a
// transcription admitted here counts as holding a state until it ends (before the native pool has
// built it), so two decisions never count on the same idle state.
import { silentLogger, type Logger } from '../shared/logger.js';
import { Talk2meError } from '../shared/errors.js';
import type { ModelHost } from '../model/host.js';
import type { ModelMemory } from '../native/index.js';
import { overThreshold, toMb, type Thresholds } from './memory-sample.js';
import type { MemoryProbes } from './probes.js';

export type AdmissionOutcome = 'admitted' | 'waited' | 'refused';

/** The figures one decision is taken on. */
export interface AdmissionReading {
  rssBytes: number;
  gpu: { usedBytes: number } | null;
  /** The loaded model's pool (null: no model loaded, so no state either). */
  states: { total: number; max: number } | null;
  /** Transcriptions admitted and not yet ended, each holding or about to hold a state. */
  active: number;
  /** What a new state costs; null until measured. */
  stateCostBytes: number | null;
}

export type AdmissionVerdict =
  | { kind: 'start'; newState: boolean }
  | { kind: 'wait'; reason: string }
  | { kind: 'refuse'; reason: string };

/** The policy: start, wait for a state to come back, or refuse. */
export function decideAdmission(reading: AdmissionReading, thresholds: Thresholds): AdmissionVerdict {
  const total = reading.states?.total ?? 0;
  const max = reading.states?.max ?? Number.POSITIVE_INFINITY;
  // An idle state is there for it; or the pool is at its maximum and makes it wait for one anyway.
  if (reading.active < total || total >= max) return { kind: 'start', newState: false };
  const over = overThreshold(reading, thresholds, reading.stateCostBytes ?? 0);
  if (over === null) return { kind: 'start', newState: true };
  // A running transcription hands its state back when it ends; with none running, nothing would.
  return reading.active > 0 ? { kind: 'wait', reason: over } : { kind: 'refuse', reason: over };
}

export class MemoryPressureError extends Talk2meError<'MEMORY_PRESSURE'> {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('MEMORY_PRESSURE', message);
  }
}

export class AdmissionAbortedError extends Talk2meError<'ABORTED'> {
  constructor() {
    super('ABORTED', 'The transcription was aborted while it waited for memory');
  }
}

export interface PredictiveAdmissionOptions {
  enabled: boolean;
  thresholds: Thresholds;
  model: ModelHost;
  probes: MemoryProbes;
  /** Retry-After of a refusal: when the cleanup ladder looks again. */
  retryAfterS: number;
  /** Called on each refusal, so memory can be worked on (the manager trims the heap). */
  onRefuse?: () => void;
  logger?: Logger;
  now?: () => number;
}

export interface PredictiveAdmissionStats {
  enabled: boolean;
  stateCostBytes: number | null;
  decisions: Record<AdmissionOutcome, number>;
  /** Transcriptions waiting: for a state to come back, or behind one that does. */
  waiting: number;
  /** The first in line waits for a running transcription to hand its state back. */
  heldForState: boolean;
  lastRefusal: { at: number; reason: string } | null;
}

interface Candidate {
  waited: boolean;
  admit: (outcome: AdmissionOutcome, newState: boolean) => void;
  refuse: (err: Error) => void;
}

export class PredictiveAdmission {
  readonly #options: PredictiveAdmissionOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #line: Candidate[] = [];
  readonly #decisions: Record<AdmissionOutcome, number> = { admitted: 0, waited: 0, refused: 0 };
  #active = 0;
  #deciding = false;
  /** The head of the line waits for a transcription to end. */
  #blocked = false;
  /** Counts ends, so a decision taken on a reading from before one is taken again. */
  #ends = 0;
  #cost: { bytes: number; path: string } | null = null;
  #lastRefusal: { at: number; reason: string } | null = null;
  /** Why the last decision was a refusal, until a decision starts a transcription again. */
  #refusing: string | null = null;

  constructor(options: PredictiveAdmissionOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.#options.enabled;
  }

  /** What a new whisper state costs, as last measured for the loaded model; null before. */
  get stateCostBytes(): number | null {
    return this.#cost?.bytes ?? null;
  }

  stats(): PredictiveAdmissionStats {
    return {
      enabled: this.enabled,
      stateCostBytes: this.stateCostBytes,
      decisions: { ...this.#decisions },
      waiting: this.#line.length,
      heldForState: this.#blocked && this.#line.length > 0,
      lastRefusal: this.#lastRefusal,
    };
  }

  /** Runs `work` once admitted; throws MEMORY_PRESSURE when refused, ABORTED when `signal` fires first. */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!this.enabled) return work();
    const newState = await this.#admit(signal);
    try {
      return await work();
    } finally {
      // The pool built a state for this one: what whisper.cpp counted for it is the cost from now on.
      if (newState) await this.#read();
      this.#active--;
      this.#ends++;
      this.#blocked = false;
      void this.#decide();
    }
  }

  /** Records the cost of a state from the model's report (a new model starts unmeasured). */
  observe(memory: ModelMemory | null): void {
    if (!memory) return;
    if (memory.bytesPerState > 0) this.#cost = { bytes: memory.bytesPerState, path: memory.path };
    else if (this.#cost && this.#cost.path !== memory.path) this.#cost = null;
  }

  /** Resolves once admitted, with whether a new state will be built for it. */
  #admit(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(new AdmissionAbortedError());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#line.indexOf(candidate);
        if (i < 0) return;
        this.#line.splice(i, 1);
        if (i === 0) {
          this.#blocked = false;
          void this.#decide();
        }
        reject(new AdmissionAbortedError());
      };
      const settle = (): void => signal?.removeEventListener('abort', onAbort);
      const candidate: Candidate = {
        waited: this.#blocked,
        admit: (outcome, newState) => {
          settle();
          this.#decisions[outcome]++;
          resolve(newState);
        },
        refuse: (err) => {
          settle();
          this.#decisions.refused++;
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#line.push(candidate);
      void this.#decide();
    });
  }

  // Decides for the head of the line until the line is empty or its head must wait for an end.
  async #decide(): Promise<void> {
    if (this.#deciding) return;
    this.#deciding = true;
    try {
      while (this.#line.length > 0 && !this.#blocked) {
        const ends = this.#ends;
        const reading = await this.#read();
        const head = this.#line[0];
        if (!head) break;
        const verdict = reading ? decideAdmission(reading, this.#options.thresholds) : ({ kind: 'start', newState: false } as const);
        if (verdict.kind === 'start') {
          this.#refusing = null;
          this.#line.shift();
          this.#active++;
          head.admit(head.waited ? 'waited' : 'admitted', verdict.newState);
        } else if (verdict.kind === 'refuse') {
          this.#line.shift();
          this.#refuse(head, verdict.reason);
        } else if (this.#ends === ends) {
          if (!head.waited) this.#logger.info({ reason: verdict.reason, active: this.#active }, 'Memory: a transcription waits for a whisper state to come back');
          // Those behind it wait for memory as well.
          for (const candidate of this.#line) candidate.waited = true;
          this.#blocked = true;
        }
        // else: a transcription ended while this reading was taken; decide again on a fresh one.
      }
    } finally {
      this.#deciding = false;
    }
  }

  /**
   * While refusals last, why, on a fresh reading: readiness reads it, so a load balancer sends work
   * to instances that can afford it, and it ends by itself once a new transcription would start (or
   * wait for a running one). Null when the last decision was not a refusal.
   */
  async stillRefusing(): Promise<string | null> {
    if (this.#refusing === null || !this.enabled) return null;
    const reading = await this.#read();
    const verdict = reading ? decideAdmission(reading, this.#options.thresholds) : null;
    this.#refusing = verdict?.kind === 'refuse' ? verdict.reason : null;
    return this.#refusing;
  }

  #refuse(candidate: Candidate, reason: string): void {
    const { retryAfterS } = this.#options;
    this.#lastRefusal = { at: this.#now(), reason };
    this.#refusing = reason;
    this.#options.onRefuse?.();
    const cost = this.stateCostBytes;
    this.#logger.warn({ reason, stateCostMb: cost === null ? null : toMb(cost) }, 'Memory: transcription refused; a new whisper state would cross the threshold');
    candidate.refuse(
      new MemoryPressureError(`The server is short of memory for another transcription (${reason} with a new whisper state); retry in ${retryAfterS} s`, retryAfterS),
    );
  }

  /** A fresh reading; null when it cannot be taken (the transcription then goes its own way). */
  async #read(): Promise<AdmissionReading | null> {
    try {
      const memory = await this.#options.model.memory();
      this.observe(memory);
      const gpu = memory?.gpu ? { usedBytes: memory.gpu.total - memory.gpu.free } : null;
      return {
        rssBytes: this.#options.probes.process().rssBytes,
        gpu,
        states: memory ? { total: memory.states.total, max: memory.states.max } : null,
        active: this.#active,
        stateCostBytes: this.stateCostBytes,
      };
    } catch (err) {
      this.#logger.warn({ err }, 'Memory: no reading for admission; the transcription is let through');
      return null;
    }
  }
}

/** Retry-After for a refusal: the next memory check, within sensible bounds for a client. */
export function refusalRetryAfterS(cleanupIntervalS: number): number {
  return Math.min(60, Math.max(5, Math.ceil(cleanupIntervalS)));
}
