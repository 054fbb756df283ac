// POST /v1/audio/transcriptions and /v1/audio/translations, compatible with OpenAI's audio API:
// fields `file`, `model`, `language` (transcriptions), `prompt`, `response_format` (json, text,
// srt, vtt, verbose_json), `temperature`, `timestamp_granularities[]` (segment, word), `stream`.
// Whatever model is named, the server's model answers.
//
// stream=true answers Server-Sent Events as OpenAI documents them for its streaming models:
// `transcript.text.delta` per decoded segment, then `transcript.text.done`. OpenAI ignores stream
// for whisper-1; here every model name streams, since the one local model can.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { MAX_PROMPT_BYTES, type Transcription } from '../../native/index.js';
import { formatTranscript, toVerboseJson } from '../../transcript/formats.js';
import { HttpError, mapError } from '../errors.js';
import { booleanField, enumField, field, languageField, numberField, rejectUnknownFields, textField, type FormFields } from '../form-fields.js';
import { runTranscription, type TranscriptionRoute } from '../transcription-request.js';
import { invalidValue } from '../../shared/errors.js';
import { REQUEST_ID_HEADER } from '../request-id.js';
import { SECURITY_HEADERS } from '../security-headers.js';

const FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
type OpenAiFormat = (typeof FORMATS)[number];
type Task = 'transcribe' | 'translate';
const STREAM_FORMATS: readonly OpenAiFormat[] = ['json', 'text'];

interface OpenAiParams {
  format: OpenAiFormat;
  task: Task;
  stream: boolean;
}

/** Whether word timestamps were asked for. Segments are always in verbose_json. */
function wantsWords(fields: FormFields): boolean {
  const values = [...(fields.get('timestamp_granularities[]') ?? []), ...(fields.get('timestamp_granularities') ?? [])];
  for (const value of values) {
    if (value !== 'segment' && value !== 'word') throw new HttpError(400, 'INVALID_PARAMETER', invalidValue('timestamp_granularities[]', 'segment or word', value));
  }
  return values.includes('word');
}

function parser(task: Task): TranscriptionRoute<OpenAiParams>['parse'] {
  // include[] and chunking_strategy are sent by OpenAI's SDKs and UIs; they change nothing here.
  const ignored = ['include[]', 'include', 'chunking_strategy'];
  const known = ['model', 'prompt', 'response_format', 'temperature', 'timestamp_granularities[]', 'timestamp_granularities', 'stream', ...ignored, ...(task === 'transcribe' ? ['language'] : [])];
  return (fields) => {
    rejectUnknownFields(fields, known);
    const model = field(fields, 'model');
    if (model !== undefined && (model.length === 0 || model.length > 256)) throw new HttpError(400, 'INVALID_PARAMETER', 'Expected a model name of 1 to 256 characters');
    const language = task === 'transcribe' ? languageField(fields) : undefined;
    const prompt = textField(fields, 'prompt', MAX_PROMPT_BYTES);
    const temperature = numberField(fields, 'temperature', 0, 1);
    const words = wantsWords(fields);
    const format = enumField(fields, 'response_format', FORMATS) ?? 'json';
    if (words && format !== 'verbose_json') throw new HttpError(400, 'INVALID_PARAMETER', 'Word timestamps need response_format=verbose_json');
    const stream = booleanField(fields, 'stream') === true;
    if (stream && !STREAM_FORMATS.includes(format)) {
      throw new HttpError(400, 'UNSUPPORTED_PARAMETER', `Streaming answers come with response_format ${STREAM_FORMATS.join(' or ')}, not ${format}`);
    }
    return {
      params: { format, task, stream },
      options: {
        ...(words && { wordTimestamps: true }),
        ...(language !== undefined && { language }),
        ...(prompt !== undefined && { initialPrompt: prompt }),
        ...(temperature !== undefined && { temperature }),
        ...(task === 'translate' && { translate: true }),
      },
    };
  };
}

/**
 * A streaming answer's events. Its headers go out with the first event, so an error before that (a
 * bad field, a full queue, an undecodable file) is an ordinary JSON error; after it, an `error`
 * event ends the stream. The client hanging up aborts the transcription (runTranscription's signal).
 */
class EventStream {
  #started = false;
  #sentText = false;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
  ) {}

  get started(): boolean {
    return this.#started;
  }

  delta(text: string): void {
    // The deltas add up to the final text, which has no leading space.
    const delta = this.#sentText ? text : text.trimStart();
    if (delta === '') return;
    this.#sentText = true;
    this.#send({ type: 'transcript.text.delta', delta });
  }

  done(text: string): void {
    this.#send({ type: 'transcript.text.done', text });
    this.reply.raw.end();
  }

  fail(err: unknown): void {
    const mapped = mapError(err);
    if (mapped.internal) this.request.log.error({ err }, 'streaming transcription failed');
    this.#send({ type: 'error', ...mapped.body });
    this.reply.raw.end();
  }

  #send(event: object): void {
    if (!this.#started) {
      this.#started = true;
      // Fastify's hooks do not run on a hijacked reply: the headers every answer carries are set here.
      this.reply.hijack();
      this.reply.raw.writeHead(200, {
        ...SECURITY_HEADERS,
        [REQUEST_ID_HEADER]: this.request.id,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      });
    }
    if (!this.reply.raw.destroyed) this.reply.raw.write(`data: ${JSON.stringify(event)}\n\n`);
  }
}

export async function openaiRoutes(app: FastifyInstance): Promise<void> {
  for (const task of ['transcribe', 'translate'] as const) {
    const route: TranscriptionRoute<OpenAiParams> = {
      route: task === 'transcribe' ? 'openai_transcriptions' : 'openai_translations',
      fileFields: ['file'],
      parse: parser(task),
    };
    app.post(task === 'transcribe' ? '/v1/audio/transcriptions' : '/v1/audio/translations', async (request, reply) => {
      // Whether to stream is in the form, read with the upload: every request listens, a streaming one sends.
      const events = new EventStream(request, reply);
      let outcome;
      try {
        outcome = await runTranscription(app, request, reply, route, {
          segmentListener: (params) => (params.stream ? (segment) => events.delta(segment.text) : undefined),
        });
      } catch (err) {
        if (!events.started) throw err;
        events.fail(err);
        return reply;
      }
      const { transcription, params } = outcome;
      if (params.stream) {
        events.done(transcription.text);
        return reply;
      }
      switch (params.format) {
        case 'json':
          return { text: transcription.text };
        case 'verbose_json':
          return toVerboseJson(transcription, task);
        case 'text':
          return reply.type('text/plain; charset=utf-8').send(`${transcription.text}\n`);
        case 'srt':
          return reply.type('text/plain; charset=utf-8').send(formatTranscript(transcription, 'srt'));
        case 'vtt':
          return reply.type('text/vtt; charset=utf-8').send(formatTranscript(transcription, 'vtt'));
      }
    });
  }
}
