/**
 * A 16 kHz test signal that is not silence: a few tones whose loudness rises and falls like
 * syllables, so whisper.cpp's encoder and decoder do their full work on it. `talk2me soak` sends
 * the same signal; it lives with it in src/cli/soak/audio.ts.
 */
export { syllableTones } from '../../src/cli/soak/audio.js';
