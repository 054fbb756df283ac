// POST /transcribe (multipart field `audio`). A short clip is converted to 16 kHz mono WAV in the
// browser first: the server decodes WAV natively in milliseconds, where the recorded WebM/Opus costs
// it an ffmpeg process, and the conversion costs the page little at that length. A long clip goes
// as recorded: its WAV would be several times the bytes and converting it holds renderer memory in
// proportion to its length. If the server cannot decode the recorded format
// (no ffmpeg there: 415 AUDIO_UNSUPPORTED_FORMAT), the clip is converted and sent once more.
// The measurements: web/README.md, "Upload".
import { errorSentence } from './error-sentences.js';
import { extensionFor } from './mime-type.js';
import type { Segment } from './transcript-formats.js';

export interface TranscriptJson {
  text: string;
  segments: Segment[];
  language: string;
  duration_s: number;
  processing_ms: number;
}

export interface TranscribeOutcome extends TranscriptJson {
  /** Bytes of audio sent in the request that succeeded. */
  uploadedBytes: number;
  /** What was sent: the clip as recorded, or the WAV made from it. */
  sent: 'recorded' | 'wav';
}

/** Clips up to this long are sent as WAV (web/README.md, "Upload"). */
export const WAV_UP_TO_MS = 10_000;

export interface TranscribeOptions {
  /** How long the clip is; with toWav, a clip up to WAV_UP_TO_MS is sent as WAV. */
  durationMs?: number;
  language?: string;
  /** Ask for an English translation instead of a transcript in the spoken language. */
  translate?: boolean;
  signal?: AbortSignal;
  /** Makes 16 kHz mono WAV of the clip (wav-converter.ts in the page). */
  toWav?: (clip: Blob) => Promise<Blob>;
  fetch?: typeof fetch;
  /** Where the API lives, relative to the page (default: the page's own directory). */
  endpoint?: string;
}

export class UploadError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

const isWav = (blob: Blob): boolean => extensionFor(blob.type) === 'wav';

export async function transcribe(clip: Blob, options: TranscribeOptions = {}): Promise<TranscribeOutcome> {
  const { toWav, durationMs } = options;
  if (toWav && !isWav(clip) && durationMs !== undefined && durationMs <= WAV_UP_TO_MS) {
    const wav = await toWav(clip).catch(() => null); // a clip this browser cannot decode goes as recorded
    if (wav) return { ...(await post(wav, options)), uploadedBytes: wav.size, sent: 'wav' };
  }
  try {
    return { ...(await post(clip, options)), uploadedBytes: clip.size, sent: 'recorded' };
  } catch (err) {
    if (!(err instanceof UploadError) || err.code !== 'AUDIO_UNSUPPORTED_FORMAT' || isWav(clip) || !toWav) throw err;
  }
  const wav = await toWav(clip);
  return { ...(await post(wav, options)), uploadedBytes: wav.size, sent: 'wav' };
}

async function post(audio: Blob, options: TranscribeOptions): Promise<TranscriptJson> {
  const form = new FormData();
  // A chosen file keeps its name (the server sniffs the bytes; the name only shows in its logs).
  const name = (audio as { name?: string }).name;
  form.append('audio', audio, name || `clip.${extensionFor(audio.type)}`);
  if (options.language) form.append('language', options.language);
  if (options.translate) form.append('translate', 'true');
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(options.endpoint ?? 'transcribe', {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      ...(options.signal && { signal: options.signal }),
    });
  } catch (err) {
    if ((err as { name?: string }).name === 'AbortError') throw new UploadError(0, 'ABORTED', 'The upload was cancelled.');
    throw new UploadError(0, 'NETWORK', 'The server could not be reached. Check the connection and try again.');
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    const code = error?.code ?? `HTTP_${response.status}`;
    throw new UploadError(response.status, code, errorSentence(response.status, code, error?.message ?? '', response.headers.get('retry-after')));
  }
  if (!body || typeof (body as TranscriptJson).text !== 'string') throw new UploadError(response.status, 'BAD_RESPONSE', 'The server sent an answer this page does not understand.');
  return body as TranscriptJson;
}
