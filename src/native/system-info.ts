import { loadBinding } from './binding.js';
import { toWhisperError } from './errors.js';

export interface SystemInfo {
  whisperVersion: string;
  /** ggml backends compiled in, e.g. ["CPU"] or ["CUDA", "CPU"]. */
  backends: string[];
  /** CPU features whisper.cpp was built with and detects ("AVX2 = 1 | ..."). */
  features: string;
  /** Whether this build can read GPU memory through the CUDA runtime. */
  gpuProbe: boolean;
  /** whisper_contexts alive in this process: a test's leak detector. */
  liveContexts: number;
}

export function systemInfo(): SystemInfo {
  let raw: ReturnType<ReturnType<typeof loadBinding>['systemInfo']>;
  try {
    raw = loadBinding().systemInfo();
  } catch (err) {
    throw toWhisperError(err, new Error());
  }
  return { whisperVersion: raw.whisperVersion, backends: raw.backends, features: raw.features.trim(), gpuProbe: raw.gpuProbe, liveContexts: raw.liveContexts };
}
