/**
 * Whisper model dimensions, exactly the eleven int32 hyper-parameters at the head of a
 * whisper.cpp legacy ggml model file (in file order).
 */
export interface ModelDims {
  /** Total vocabulary size including special tokens: 51864 for English-only models, >= 51865 for multilingual ones. */
  nVocab: number;
  /** Encoder context in frames (1500 = 30 s of audio after the stride-2 convolution). */
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  /** Decoder context in tokens. */
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  /** Mel bands fed to the encoder (80 for every model before large-v3, 128 for large-v3). */
  nMels: number;
  /**
   * 0 = all f32, 1 = big matrices (and convolution kernels) f16, everything else f32.
   * Note: whisper.cpp 1.9.1 loads an ftype-0 model but its CPU convolution (im2col to f16) asserts
   * on f32 kernels at the first encode, so only ftype 1 models can transcribe.
   */
  ftype: 0 | 1;
}

/**
 * Named dimension presets for synthetic models.
 *
 * - `tiny`: the dimensions of OpenAI's tiny.en (about 77.7 MB on disk). A synthetic model at these
 *   dimensions costs exactly what the trained model costs to load and run.
 * - `mini`: same vocabulary and contexts as tiny.en but width 64 and a single layer per stack (about
 *   7.8 MB), for tests that need a loadable model quickly. One head, so the head size is 64 like
 *   every real Whisper model and the same attention kernels are exercised.
 */
export const MODEL_DIMS: { readonly tiny: ModelDims; readonly mini: ModelDims } = Object.freeze({
  tiny: Object.freeze({
    nVocab: 51864,
    nAudioCtx: 1500,
    nAudioState: 384,
    nAudioHead: 6,
    nAudioLayer: 4,
    nTextCtx: 448,
    nTextState: 384,
    nTextHead: 6,
    nTextLayer: 4,
    nMels: 80,
    ftype: 1,
  }),
  mini: Object.freeze({
    nVocab: 51864,
    nAudioCtx: 1500,
    nAudioState: 64,
    nAudioHead: 1,
    nAudioLayer: 1,
    nTextCtx: 448,
    nTextState: 64,
    nTextHead: 1,
    nTextLayer: 1,
    nMels: 80,
    ftype: 1,
  }),
});

export type ModelDimsName = keyof typeof MODEL_DIMS;

/** Order of the hyper-parameters in the file header (each an int32 after the magic). */
export const HPARAM_ORDER = [
  'nVocab',
  'nAudioCtx',
  'nAudioState',
  'nAudioHead',
  'nAudioLayer',
  'nTextCtx',
  'nTextState',
  'nTextHead',
  'nTextLayer',
  'nMels',
  'ftype',
] as const satisfies readonly (keyof ModelDims)[];

/** Resolves a preset name or explicit dims to a fresh, mutable ModelDims object. */
export function resolveModelDims(dims: ModelDimsName | ModelDims = 'tiny'): ModelDims {
  if (typeof dims === 'string') {
    const preset: ModelDims | undefined = (MODEL_DIMS as Record<string, ModelDims>)[dims];
    if (!preset) throw new Error(`unknown model dims preset: ${String(dims)}`);
    return { ...preset };
  }
  return { ...dims };
}
