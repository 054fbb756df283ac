// The microphone's loudness while recording, for the level bar: one AudioContext with an analyser,
// registered with the memory manager and closed when the recording ends (an AudioContext left open
// is never garbage-collected and keeps an audio thread running).
import type { MemoryManager } from './memory-manager.js';

export class LevelMeter {
  readonly #memory: MemoryManager;
  readonly #context: AudioContext;
  readonly #source: MediaStreamAudioSourceNode;
  readonly #analyser: AnalyserNode;
  readonly #samples: Float32Array<ArrayBuffer>;

  constructor(stream: MediaStream, memory: MemoryManager) {
    this.#memory = memory;
    this.#context = memory.registerAudioContext(new AudioContext());
    this.#source = this.#context.createMediaStreamSource(stream);
    this.#analyser = this.#context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
    if (this.#context.state === 'suspended') void this.#context.resume().catch(() => undefined);
  }

  /** Loudness now, 0 (silence) to 1, on a scale that makes speech move the bar. */
  level(): number {
    if (this.#context.state === 'closed') return 0;
    this.#analyser.getFloatTimeDomainData(this.#samples);
    let sum = 0;
    for (const s of this.#samples) sum += s * s;
    const rms = Math.sqrt(sum / this.#samples.length);
    return Math.min(1, Math.sqrt(rms) * 1.5);
  }

  async close(): Promise<void> {
    this.#source.disconnect();
    await this.#memory.closeAudioContext(this.#context);
  }
}
