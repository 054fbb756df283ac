// whisper.cpp's own server, as a drop-in: POST /inference with its form (the audio in `file`;
// response_format json, text, srt, vtt or verbose_json; language, translate, temperature,
// temperature_inc, prompt, beam_size, best_of, no_timestamps) and POST /load (field `model`: a
// model path), which is the guarded reload — it needs X-Admin-Token, as /admin/model/reload does.
// The fields whisper.cpp's server takes for its own tuning and output (offsets, VAD, diarization,
// thresholds...) are accepted and have no effect here, so a client written for it keeps working.
import type { FastifyInstance } from 'fastify';

import { MAX_BEAM_SIZE, MAX_PROMPT_BYTES } from '../../native/index.js';
import { invalidValue } from '../../shared/errors.js';
import { formatTranscript, toVerboseJson } from '../../transcript/formats.js';
import { HttpError } from '../errors.js';
import { booleanField, enumField, field, languageField, numberField, rejectUnknownFields, textField, type FormFields } from '../form-fields.js';
import { reloadModel } from '../model-reload.js';
import { requireToken } from '../token-guard.js';
import { runTranscription, type TranscriptionRoute } from '../transcription-request.js';

const FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
type Format = (typeof FORMATS)[number];

const USED = ['language', 'translate', 'temperature', 'temperature_inc', 'prompt', 'response_format', 'beam_size', 'best_of', 'no_timestamps'];
/** whisper.cpp server fields that tune its own decoder or output; accepted, without effect here. */
export const IGNORED_WHISPER_SERVER_FIELDS = [
  'offset_t', 'offset_n', 'duration', 'max_context', 'max_len', 'split_on_word', 'word_thold', 'entropy_thold', 'logprob_thold',
  'no_speech_thold', 'audio_ctx', 'tinydiarize', 'diarize', 'debug_mode', 'detect_language', 'suppress_non_speech', 'suppress_nst',
  'token_timestamps', 'no_language_probabilities', 'carry_initial_prompt', 'vad', 'vad_threshold', 'vad_min_speech_duration_ms',
  'vad_min_silence_duration_ms', 'vad_max_speech_duration_s', 'vad_speech_pad_ms', 'vad_samples_overlap', 'model',
] as const;

function integerField(fields: FormFields, name: string, max: number): number | undefined {
  const value = numberField(fields, name, 1, max);
  if (value !== undefined && !Number.isInteger(value)) throw new HttpError(400, 'INVALID_PARAMETER', invalidValue(name, `an integer between 1 and ${max}`, field(fields, name)));
  return value;
}

const inference: TranscriptionRoute<{ format: Format; translate: boolean }> = {
  route: 'whisper_inference',
  fileFields: ['file'],
  parse(fields) {
    rejectUnknownFields(fields, [...USED, ...IGNORED_WHISPER_SERVER_FIELDS]);
    const language = languageField(fields);
    const translate = booleanField(fields, 'translate') ?? false;
    const temperature = numberField(fields, 'temperature', 0, 1);
    const temperatureIncrement = numberField(fields, 'temperature_inc', 0, 1);
    const prompt = textField(fields, 'prompt', MAX_PROMPT_BYTES);
    const beamSize = integerField(fields, 'beam_size', MAX_BEAM_SIZE);
    const bestOf = integerField(fields, 'best_of', MAX_BEAM_SIZE);
    const noTimestamps = booleanField(fields, 'no_timestamps');
    return {
      params: { format: enumField(fields, 'response_format', FORMATS) ?? 'json', translate },
      options: {
        ...(language !== undefined && { language }),
        ...(translate && { translate: true }),
        ...(temperature !== undefined && { temperature }),
        ...(temperatureIncrement !== undefined && { temperatureIncrement }),
        ...(prompt !== undefined && { initialPrompt: prompt }),
        ...(beamSize !== undefined && { beamSize }),
        ...(bestOf !== undefined && { bestOf }),
        ...(noTimestamps === true && { timestamps: false }),
      },
    };
  },
};

export async function whisperServerRoutes(app: FastifyInstance): Promise<void> {
  app.post('/inference', async (request, reply) => {
    const { transcription, params } = await runTranscription(app, request, reply, inference);
    switch (params.format) {
      case 'json':
        return { text: transcription.text };
      case 'verbose_json':
        return toVerboseJson(transcription, params.translate ? 'translate' : 'transcribe');
      case 'text':
        return reply.type('text/plain; charset=utf-8').send(`${transcription.text}\n`);
      case 'srt':
        return reply.type('application/x-subrip; charset=utf-8').send(formatTranscript(transcription, 'srt'));
      case 'vtt':
        return reply.type('text/vtt; charset=utf-8').send(formatTranscript(transcription, 'vtt'));
    }
  });
}

/** POST /load, registered only with ADMIN_TOKEN: without it there is no reload from the network at all. */
export async function whisperServerLoadRoute(app: FastifyInstance, options: { adminToken: string }): Promise<void> {
  app.post('/load', { preHandler: requireToken(options.adminToken, 'x-admin-token') }, async (request) => {
    const fields: FormFields = new Map();
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        part.file.resume();
        throw new HttpError(400, 'INVALID_PARAMETER', 'Expected the model as a path in the field "model", not a file upload');
      }
      fields.set(part.fieldname, [...(fields.get(part.fieldname) ?? []), String(part.value)]);
    }
    rejectUnknownFields(fields, ['model']);
    const path = field(fields, 'model');
    if (!path) throw new HttpError(400, 'MISSING_PARAMETER', 'Expected a model path in the field "model"');
    return reloadModel(app, path, 'POST /load');
  });
}
