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
  /**
   * Native memory V8 has been told about (napi_adjust_external_memory): a loaded model counts its
   * weights and states here, so the garbage collector weighs a dropped model by its real size.
   * (process.memoryUsage().external counts only ArrayBuffer backing stores and does not show it.)
   */
  externalMemory: number;
}

export function systemInfo(): SystemInfo {
  let raw: ReturnType<ReturnType<typeof loadBinding>['systemInfo']>;
  try {
    raw = loadBinding().systemInfo();
  } catch (err) {
    throw toWhisperError(err, new Error());
  }
  return { whisperVersion: raw.whisperVersion, backends: raw.backends, features: raw.features.trim(), gpuProbe: raw.gpuProbe, liveContexts: raw.liveContexts, externalMemory: raw.externalMemory };
}
