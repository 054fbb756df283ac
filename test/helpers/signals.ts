/**
 * A 16 kHz test signal that is not silence: a few tones whose loudness rises and falls like
 * syllables, so whisper.cpp's encoder and decoder do their full work on it.
 */
export function syllableTones(seconds: number, sampleRate = 16000): Float32Array {
  const pcm = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < pcm.length; i++) {
    const t = i / sampleRate;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    pcm[i] = 0.25 * envelope * (Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 660 * t));
  }
  return pcm;
}
