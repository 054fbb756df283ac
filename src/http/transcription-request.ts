// One transcription request from upload to result, shared by /transcribe and the OpenAI routes:
// session and address limits, the upload into a tracked temp file, decoding (its own bounded queue
// and time limit), admission (bounded queue, then memory), whisper, metrics; the temp file is removed and the
// allowances returned however it ends. A client that goes away aborts its work; REQUEST_TIMEOUT_S,
// plus REQUEST_TIMEOUT_PER_AUDIO_S for each second of the decoded audio, cuts it off with 504.
//
// A request makes no session until it has passed its checks (content type, upload, form fields):
// until then it is counted on a provisional record, so requests refused on their content cannot
// fill the session table. The per-address limits hold whatever session ids a client invents.
import { performance } from 'node:perf_hooks';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { AudioDecodeError, decodeAudioFile } from '../audio/index.js';
import { sessionTag } from '../memory/sessions/index.js';
import type { Segment, TranscribeOptions, Transcription } from '../native/index.js';
import { HttpError } from './errors.js';
import type { FormFields } from './form-fields.js';
import { sessionIdOf } from './session.js';
import { stagingProblem } from './staging.js';
import { assertMultipart, receiveUpload } from './upload.js';

export interface TranscriptionRoute<P> {
  /** Metrics label. */
  route: string;
  fileFields: readonly string[];
  /** Checks the form's fields (throws 400) and says how to transcribe. */
  parse(fields: FormFields): { params: P; options: TranscribeOptions };
}

/** What one request hears while whisper works: given the parsed params, a listener for each segment as it is decoded (a streaming answer), or none. */
export interface TranscriptionListener<P> {
  segmentListener?(params: P): ((segment: Segment) => void) | undefined;
}

export interface TranscriptionOutcome<P> {
  transcription: Transcription;
  params: P;
  processingMs: number;
}

// An absolute path, with ffmpeg's "file:" prefix if any; not one inside a word such as "kb/s" or "wav/pcm_s16le".
const SERVER_PATH = /(?:file:)?(?<![\w.~-])\/+[\w.@%+~-]+(?:\/[\w.@%+~-]*)*/g;
const ADDRESS = /\b0x[0-9a-f]{6,}\b/gi;

/**
 * Decoding errors quote ffmpeg, which names the file it read and may name others: the client gets
 * "the upload", never where the server keeps files, nor a heap address.
 */
function withoutServerPath(err: unknown, path: string): unknown {
  if (!(err instanceof AudioDecodeError)) return err;
  const message = err.message
    .replaceAll(`file:${path}`, 'the upload')
    .replaceAll(path, 'the upload')
    .replace(SERVER_PATH, 'a server path')
    .replace(ADDRESS, 'an address');
  return message === err.message ? err : new AudioDecodeError(err.code, message, { cause: err });
}

/** A request's time limit, counted from its start, that can be moved once the audio's length is known. */
class RequestDeadline {
  readonly #controller = new AbortController();
  readonly #started = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #limitS = 0;

  constructor(limitS: number) {
    this.extendTo(limitS);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get limitS(): number {
    return this.#limitS;
  }

  extendTo(limitS: number): void {
    if (this.#controller.signal.aborted) return;
    this.clear();
    this.#limitS = Math.round(limitS * 10) / 10;
    const remainingMs = Math.max(0, this.#started + limitS * 1000 - performance.now());
    this.#timer = setTimeout(() => this.#controller.abort(new Error(`The request took longer than ${this.#limitS} s`)), remainingMs);
    this.#timer.unref();
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** An AbortSignal that fires when the client closes the connection before the reply is sent, or has already. */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new HttpError(499, 'CLIENT_CLOSED', 'The client went away'));
  };
  // 'close' comes once: a connection that closed before anyone listened would never abort.
  if (reply.raw.destroyed) abort();
  else reply.raw.once('close', abort);
  return controller.signal;
}

export async function runTranscription<P>(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  route: TranscriptionRoute<P>,
  listener: TranscriptionListener<P> = {},
): Promise<TranscriptionOutcome<P>> {
  const { services, metrics } = app;
  const { config } = services;
  const started = performance.now();
  const rejected = (err: unknown): unknown => {
    metrics.requestsRejected.inc({ code: (err as { code?: string }).code ?? 'INTERNAL_ERROR' });
    return err;
  };
  // Limits and cheap checks refuse before anything is received: their refusals are counted too.
  const admit = <T>(take: () => T): T => {
    try {
      return take();
    } catch (err) {
      throw rejected(err);
    }
  };
  // Listening from the first moment: a client that hangs up during the checks below is seen.
  const gone = clientGone(reply);
  const sessionId = sessionIdOf(request, reply);
  // request.ip: the socket's peer, or what X-Forwarded-For says where TRUST_PROXY trusts the proxy.
  const address = request.ip;
  admit(() => services.sessions.peek(sessionId)); // a malformed id is refused here
  admit(() => assertMultipart(request, route.fileFields));
  const problem = await stagingProblem(services);
  if (problem) throw rejected(problem);
  // Over the session's concurrency, the request waits for a slot (a bounded line per session).
  using lease = await services.sessionGate.begin(sessionId, { address, create: false }, gone).catch((err: unknown) => {
    throw rejected(err);
  });
  using reservation = admit(() => services.sessions.reserveTempBytes(sessionId, 0, { address }));
  await using ctx = services.memory.audioProcessing({ owner: sessionTag(sessionId) });
  void lease;

  const deadline = new RequestDeadline(config.requestTimeoutS);
  const timeout = deadline.signal;
  const signal = AbortSignal.any([gone, timeout]);
  // Announced from its upload until it asks for a transcription slot: one that starts alone in
  // the meantime leaves it a share of the cores (admission-queue.ts).
  using announced = services.queue.announce();
  try {
    const upload = await receiveUpload(request, {
      fileFields: route.fileFields,
      maxBytes: config.maxUploadMb * 1024 * 1024,
      stallTimeoutMs: config.memory.uploadStallTimeoutS * 1000,
      ctx,
      reservation,
    });
    // The registry tracks the path from before the file existed; its size feeds stats and metrics.
    if (services.files.has(upload.path)) services.files.setSize(upload.path, upload.bytes);
    const { params, options } = route.parse(upload.fields);
    const onSegment = listener.segmentListener?.(params);
    // Valid: the session is kept now (or, when every session is busy, the request goes on without).
    services.sessions.keep(sessionId, { address });
    // Decoding has its own slots and time limit, so a slow or hostile upload holds no transcription
    // slot; the decoded audio then waits for one like any other.
    const audio = await services.decoding
      .run(() => decodeAudioFile(upload.path, { signal, maxDurationS: config.maxAudioS, timeoutS: config.decodeTimeoutS, ffmpegPath: config.ffmpegPath }), signal)
      .catch((err: unknown) => {
        throw withoutServerPath(err, upload.path);
      });
    // Long audio takes long to transcribe: the limit grows with it, so a clip MAX_AUDIO_S allows is
    // not cut off by a limit sized for short ones.
    deadline.extendTo(config.requestTimeoutS + audio.durationS * config.requestTimeoutPerAudioS);
    const control = { signal, ...(onSegment && { onSegment }) };
    announced[Symbol.dispose]();
    // Past the queue, predictive admission: a transcription that needs a new whisper state starts
    // only if memory has room for it (else it waits for a state, or is refused).
    const transcription = await services.queue.run(
      ({ threads }) => services.memory.admission.run(() => services.model.transcribe(audio.pcm, { ...options, threads }, control), signal),
      signal,
    );
    const processingMs = performance.now() - started;
    metrics.transcriptionDuration.observe({ route: route.route }, processingMs / 1000);
    metrics.audioSeconds.inc({ route: route.route }, transcription.durationS);
    return { transcription, params, processingMs };
  } catch (err) {
    // Counted under the code the client sees: a timeout surfaces inside as ABORTED.
    throw rejected(timeout.aborted ? new HttpError(504, 'REQUEST_TIMEOUT', `The transcription took longer than ${deadline.limitS} s`) : err);
  } finally {
    deadline.clear();
  }
}
