/**
 * The audio bench/http.ts sends: 16 kHz mono 16-bit PCM WAV files, whole and damaged on purpose.
 * The same that `talk2me soak` sends (src/cli/soak/audio.ts).
 */
export { garbageBytes, pcm16Wav, seededRandom, truncatedWav } from '../src/cli/soak/audio.js';
