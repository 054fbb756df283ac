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
