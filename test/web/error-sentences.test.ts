// The server's error codes, as the page tells them to a person: a sentence, with the server's
// figures where it gives them.
import { describe, expect, it } from 'vitest';

import { errorSentence } from '../../web/src/error-sentences.js';

describe('errorSentence', () => {
  it('a file over the upload limit names the limit', () => {
    expect(errorSentence(413, 'UPLOAD_TOO_LARGE', 'The upload is larger than the limit of 25 MB')).toBe('That file is too large (the server takes up to 25 MB).');
    expect(errorSentence(413, 'UPLOAD_TOO_LARGE', 'too big')).toBe('That file is too large for the server.');
    expect(errorSentence(413, 'SESSION_TEMP_BYTES_LIMIT', 'needs more than the limit of 50 MB')).toBe('That file is too large (the server takes up to 50 MB).');
    expect(errorSentence(429, 'SESSION_TEMP_BYTES_LIMIT', 'x', '3')).toBe('The server is still holding your earlier uploads. Try again in 3 s.');
  });

  it('audio over the duration limit names it in minutes', () => {
    expect(errorSentence(413, 'AUDIO_TOO_LONG', 'Audio is 2000.0 s long; the limit is 1800 s')).toBe('That recording is too long (the server takes up to 30 min).');
    expect(errorSentence(413, 'AUDIO_TOO_LONG', 'Audio is longer than the limit of 45 s')).toBe('That recording is too long (the server takes up to 45 s).');
  });

  it('what the server cannot decode', () => {
    expect(errorSentence(400, 'AUDIO_INVALID', 'ffmpeg could not decode the file: Invalid data found when processing input')).toMatch(/^That file is not audio the server can read/);
    expect(errorSentence(415, 'AUDIO_UNSUPPORTED_FORMAT', 'needs ffmpeg')).toMatch(/needs ffmpeg for anything else\)\. Convert the file to WAV/);
    expect(errorSentence(400, 'EMPTY_FILE', 'The uploaded file is empty')).toBe('That file holds no audio.');
  });

  it('busy, limited and not ready: when to try again', () => {
    expect(errorSentence(503, 'QUEUE_FULL', 'The server is busy: 1 running and 4 waiting', '5')).toBe('The server is busy with other transcriptions. Try again in 5 s.');
    expect(errorSentence(503, 'MODEL_NOT_FOUND', 'no model', '5')).toBe('The server is not ready to transcribe yet. Try again in 5 s.');
    expect(errorSentence(429, 'SESSION_CONCURRENCY_LIMIT', 'x')).toMatch(/wait for one to finish\. Try again in a moment\.$/);
    expect(errorSentence(504, 'REQUEST_TIMEOUT', 'The transcription took longer than 600 s')).toBe(
      'The transcription took too long and was stopped (the server allows 10 min). Try a shorter clip.',
    );
  });

  it('a language the model cannot do', () => {
    expect(errorSentence(400, 'INVALID_ARGUMENT', "The model /m.bin is English-only; it cannot transcribe language 'de'")).toBe(
      'The server’s model knows English only: choose English or Detect as the language.',
    );
    expect(errorSentence(400, 'INVALID_ARGUMENT', "Unknown language 'xx'")).toBe('The server does not know that language: choose another, or Detect.');
  });

  it('anything else still reads as a sentence', () => {
    expect(errorSentence(502, 'HTTP_502', '')).toBe('Something went wrong on the server (502). Try again in a moment.');
    expect(errorSentence(400, 'UNKNOWN_PARAMETER', 'Unknown field x')).toBe('The server refused the request: Unknown field x.');
    expect(errorSentence(404, 'HTTP_404', '')).toBe('The server answered 404.');
  });
});
