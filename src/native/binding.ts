// The raw addon (build/Release/talk2me.node) and the types of what it exposes. Everything else
// goes through WhisperModel; this file only finds and types the native module.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { LoadOptions, TranscribeOptions } from './options.js';

// The addon takes the options exactly as the public API documents them (options.ts), once checked.
export type RawModelOptions = LoadOptions;
export type RawTranscribeOptions = TranscribeOptions;

export interface RawWord {
  text: string;
  startMs: number;
  endMs: number;
}

export interface RawSegment {
  startMs: number;
  endMs: number;
  text: string;
  noSpeechProb: number;
  /** Text tokens only (no timestamps nor other special tokens). */
  tokens: number[];
  /** Mean log probability of `tokens`; absent when there are none. */
  avgLogprob?: number;
  /** Empty unless word timestamps were asked for. */
  words: RawWord[];
}

/** Called on the JavaScript thread while whisper decodes. */
export interface RawTranscribeHooks {
  onSegment?: (segment: RawSegment) => void;
  onProgress?: (percent: number) => void;
}

export interface RawTimings {
  melMs: number;
  encodeMs: number;
  decodeMs: number;
  totalMs: number;
}

export interface RawTranscription {
  segments: RawSegment[];
  language: string;
  durationMs: number;
  timings: RawTimings;
}

export interface RawTrimReport {
  statesFreed: number;
  stateBytesFreed: number;
  rssBefore: number;
  rssAfter: number;
  heapTrimmed: boolean;
  /** Free GPU memory around the trim, after the device settled; null unless a CUDA build runs the model on a GPU. */
  gpuFreeBefore: number | null;
  gpuFreeAfter: number | null;
}

export interface RawRecreateReport {
  previousPath: string;
  path: string;
  loadMs: number;
  previousDraining: boolean;
}

export interface RawGpuMemory {
  free: number;
  total: number;
  device: number;
  name: string;
}

export interface RawMemoryReport {
  path: string;
  weightsBytes: number;
  bytesPerState: number;
  states: { total: number; idle: number; busy: number; max: number };
  drainingContexts: number;
  rssBytes: number;
  gpu: RawGpuMemory | null;
}

export interface RawModelInfo {
  path: string;
  multilingual: boolean;
  type: string;
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextLayer: number;
  nMels: number;
  ftype: number;
  fileBytes: number;
  loadMs: number;
}

export interface RawModel {
  transcribe(pcm: Float32Array, options: RawTranscribeOptions, jobId: number, hooks?: RawTranscribeHooks): Promise<RawTranscription>;
  cancel(jobId: number): boolean;
  trim(): Promise<RawTrimReport>;
  recreate(path?: string): Promise<RawRecreateReport>;
  memory(): Promise<RawMemoryReport>;
  info(): RawModelInfo;
  dispose(): Promise<void>;
  readonly disposed: boolean;
}

export interface RawSystemInfo {
  whisperVersion: string;
  features: string;
  backends: string[];
  gpuProbe: boolean;
  /** whisper_contexts alive in this process (loaded, not yet freed). */
  liveContexts: number;
  /** V8's count of native memory reported by addons (napi_adjust_external_memory). */
  externalMemory: number;
}

/** Where a test can make the addon throw once: see native/core/fault.h. */
export type NativeFaultSite = 'transcribe' | 'transcribe.result' | 'info' | 'spawnPiped' | 'reapChild' | 'systemInfo' | 'context.load' | 'model_file.check';
/** 'skip' leaves the site's step out instead of throwing (model_file.check: whisper.cpp reads an unchecked file). */
export type NativeFaultKind = 'bad_alloc' | 'runtime_error' | 'skip';

export type NativeLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RawBinding {
  Model: { load(path: string, options: RawModelOptions): Promise<RawModel> };
  systemInfo(): RawSystemInfo;
  setLogger(fn: ((level: NativeLogLevel, line: string) => void) | null, minLevel?: NativeLogLevel): void;
  /** vfork + exec with stdin from /dev/null, killed when this process dies; the pipes' read ends are owned by the caller. */
  spawnPiped(file: string, args: string[]): { pid: number; stdout: number; stderr: number };
  /** The exit status of a spawnPiped child without waiting; null while it runs. */
  reapChild(pid: number): { code: number; signal: number } | null;
  /** Tests only: the next pass through `site` throws `kind` (default bad_alloc); null disarms. */
  _injectFault(site: NativeFaultSite | null, kind?: NativeFaultKind): void;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = join(packageRoot, 'build', 'Release', 'talk2me.node');

let binding: RawBinding | undefined;

export function loadBinding(): RawBinding {
  if (binding) return binding;
  if (!existsSync(addonPath)) {
    throw new Error(`The talk2me native addon is not built (${addonPath} is missing): run \`npm install\` or \`npm run build:native\`.`);
  }
  binding = createRequire(import.meta.url)(addonPath) as RawBinding;
  return binding;
}
