// What the server's `{ error: { code, message } }` means to the person who sent the file, in a
// sentence. The server's own messages are written for developers (they name fields and limits the
// way the API does); the figures a person needs are read back out of them.

const number = (message: string, pattern: RegExp): number | undefined => {
  const found = pattern.exec(message)?.[1];
  return found === undefined ? undefined : Number(found);
};

const refused = (message: string): string => `The server refused the request: ${message.replace(/[.\s]*$/, '.')}`;

function minutes(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

export function errorSentence(status: number, code: string, message: string, retryAfterS?: string | null): string {
  const retry = retryAfterS ? ` Try again in ${retryAfterS} s.` : ' Try again in a moment.';
  switch (code) {
    case 'UPLOAD_TOO_LARGE':
    case 'SESSION_TEMP_BYTES_LIMIT': {
      if (code === 'SESSION_TEMP_BYTES_LIMIT' && status !== 413) return `The server is still holding your earlier uploads.${retry}`;
      const mb = number(message, /limit of (\d+(?:\.\d+)?) ?MB/i);
      return mb === undefined ? 'That file is too large for the server.' : `That file is too large (the server takes up to ${mb} MB).`;
    }
    case 'AUDIO_TOO_LONG': {
      const s = number(message, /limit (?:of|is) (\d+(?:\.\d+)?) s/);
      return s === undefined ? 'That recording is too long for the server.' : `That recording is too long (the server takes up to ${minutes(s)}).`;
    }
    case 'AUDIO_UNSUPPORTED_FORMAT':
      return 'The server cannot decode this format (it reads WAV itself and needs ffmpeg for anything else). Convert the file to WAV and try again.';
    case 'AUDIO_INVALID':
    case 'AUDIO_DECODER_FAILED':
      return 'That file is not audio the server can read: it may be damaged or not a sound or video file.';
    case 'AUDIO_EMPTY':
    case 'EMPTY_FILE':
      return 'That file holds no audio.';
    case 'QUEUE_FULL':
      return `The server is busy with other transcriptions.${retry}`;
    case 'SESSION_CONCURRENCY_LIMIT':
      return `You have as many transcriptions running as the server allows; wait for one to finish.${retry}`;
    case 'SESSION_COUNT_LIMIT':
      return `The server has as many visitors as it takes.${retry}`;
    case 'REQUEST_TIMEOUT': {
      const s = number(message, /longer than (\d+) s/);
      return `The transcription took too long and was stopped${s === undefined ? '' : ` (the server allows ${minutes(s)})`}. Try a shorter clip.`;
    }
    case 'INVALID_ARGUMENT':
    case 'INVALID_PARAMETER':
      if (/English-only/i.test(message)) return 'The server’s model knows English only: choose English or Detect as the language.';
      if (/Unknown language/i.test(message)) return 'The server does not know that language: choose another, or Detect.';
      return refused(message);
  }
  if (code.startsWith('MODEL_') || status === 503) return `The server is not ready to transcribe yet.${retry}`;
  if (status === 429) return `The server asks you to slow down.${retry}`;
  if (status >= 500) return `Something went wrong on the server (${status}).${retry}`;
  return message ? refused(message) : `The server answered ${status}.`;
}
