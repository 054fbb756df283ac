// POST /v1/audio/transcriptions and /v1/audio/translations, compatible with OpenAI's audio API:
// fields `file`, `model`, `language` (transcriptions), `prompt`, `response_format` (json, text,
// srt, vtt, verbose_json), `temperature`, `timestamp_granularities[]` (segment). Whatever model
// is named, the server's model answers.
import type { FastifyInstance } from 'fastify';

import { MAX_PROMPT_BYTES, type Transcription } from '../../native/index.js';
import { formatTranscript, toVerboseJson } from '../../transcript/formats.js';
import { HttpError } from '../errors.js';
import { booleanField, enumField, field, languageField, numberField, rejectUnknownFields, textField, type FormFields } from '../form-fields.js';
import { runTranscription, type TranscriptionRoute } from '../transcription-request.js';
import { invalidValue } from '../../shared/errors.js';

const FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
type OpenAiFormat = (typeof FORMATS)[number];
type Task = 'transcribe' | 'translate';

function granularities(fields: FormFields): void {
  const values = [...(fields.get('timestamp_granularities[]') ?? []), ...(fields.get('timestamp_granularities') ?? [])];
  for (const value of values) {
    if (value === 'word') throw new HttpError(400, 'UNSUPPORTED_PARAMETER', 'Word timestamps are not supported; use timestamp_granularities[]=segment');
    if (value !== 'segment') throw new HttpError(400, 'INVALID_PARAMETER', invalidValue('timestamp_granularities[]', 'segment', value));
  }
}

function parser(task: Task): TranscriptionRoute<{ format: OpenAiFormat; task: Task }>['parse'] {
  // stream, include[] and chunking_strategy are sent by OpenAI's SDKs and UIs; with the answer in
  // one piece they change nothing, so they are accepted (stream only as false, for now).
  const ignored = ['include[]', 'include', 'chunking_strategy'];
  const known = ['model', 'prompt', 'response_format', 'temperature', 'timestamp_granularities[]', 'timestamp_granularities', 'stream', ...ignored, ...(task === 'transcribe' ? ['language'] : [])];
  return (fields) => {
    rejectUnknownFields(fields, known);
    const model = field(fields, 'model');
    if (model !== undefined && (model.length === 0 || model.length > 256)) throw new HttpError(400, 'INVALID_PARAMETER', 'Expected a model name of 1 to 256 characters');
    const language = task === 'transcribe' ? languageField(fields) : undefined;
    const prompt = textField(fields, 'prompt', MAX_PROMPT_BYTES);
    const temperature = numberField(fields, 'temperature', 0, 1);
    granularities(fields);
    if (booleanField(fields, 'stream') === true) throw new HttpError(400, 'UNSUPPORTED_PARAMETER', 'Streaming answers are not supported yet; send stream=false or leave it out');
    return {
      params: { format: enumField(fields, 'response_format', FORMATS) ?? 'json', task },
      options: {
        ...(language !== undefined && { language }),
        ...(prompt !== undefined && { initialPrompt: prompt }),
        ...(temperature !== undefined && { temperature }),
        ...(task === 'translate' && { translate: true }),
      },
    };
  };
}

export async function openaiRoutes(app: FastifyInstance): Promise<void> {
  for (const task of ['transcribe', 'translate'] as const) {
    const route: TranscriptionRoute<{ format: OpenAiFormat; task: Task }> = {
      route: task === 'transcribe' ? 'openai_transcriptions' : 'openai_translations',
      fileFields: ['file'],
      parse: parser(task),
    };
    app.post(task === 'transcribe' ? '/v1/audio/transcriptions' : '/v1/audio/translations', async (request, reply) => {
      const { transcription, params } = await runTranscription(app, request, reply, route);
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
