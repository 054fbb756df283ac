import { loadBinding } from './binding.js';

export interface SystemInfo {
  whisperVersion: string;
  /** ggml backends compiled in, e.g. ["CPU"] or ["CUDA", "CPU"]. */
  backends: string[];
  /** CPU features whisper.cpp was built with and detects ("AVX2 = 1 | ..."). */
  features: string;
  /** Whether this build can read GPU memory through the CUDA runtime. */
  gpuProbe: boolean;
}

export function systemInfo(): SystemInfo {
  const raw = loadBinding().systemInfo();
  return { whisperVersion: raw.whisperVersion, backends: raw.backends, features: raw.features.trim(), gpuProbe: raw.gpuProbe };
}
