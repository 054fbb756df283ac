// Decoding, identical on both sides, for the benchmarks and checks that compare talk2me with
// whisper-server (bench/http.ts, bench/gpu-service.ts).
//
// talk2me's routes transcribe with WhisperModel's defaults: greedy, best_of 1, beam 1,
// temperature 0, timestamps on, flash attention on, but temperature fallback on (increment 0.2),
// which the routes cannot turn off. With the synthetic model the fallback always fires (its text
// fails whisper's log-probability threshold) and then samples at t > 0 with a generator seeded once
// per whisper state, so the work and the text of a request vary at random. So the talk2me child
// runs with --no-fallback (its model wrapped to pass temperatureIncrement 0; see
// bench/http-talk2me.ts) and whisper-server is told the same per request. (talk2me's own
// whisper-server route, POST /inference, takes the same form, temperature_inc included:
// bench/gpu-service.ts sends both servers the very same request and needs no wrapped model.)
//
// whisper-server's defaults differ: best_of 2 (-bo 1), beam_size -1 = greedy (-bs 1 to be
// explicit), token-level timestamps on (which also applies its max_len 60 segment wrapping; the
// form field token_timestamps=false turns both off), fallback on (its -nf flag is parsed but never
// used by the server in whisper.cpp 1.9.1: temperature_inc=0 must be sent as a form field).
// Both get language en (talk2me maps "auto" to "en" on an English-only model anyway) and answer
// JSON. Both keep their whisper state between requests and start each request without context.
export const WHISPER_SERVER_DECODING_ARGS = ['-l', 'en', '-bo', '1', '-bs', '1', '-fa'] as const;
export const WHISPER_SERVER_FIELDS: Array<[string, string]> = [
  ['language', 'en'],
  ['temperature', '0'],
  ['temperature_inc', '0'],
  ['token_timestamps', 'false'],
  ['response_format', 'json'],
];
export const TALK2ME_FIELDS: Array<[string, string]> = [
  ['language', 'en'],
  ['response_format', 'json'],
];
