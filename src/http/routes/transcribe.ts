// POST /transcribe: multipart field `audio`; optional `language`, `translate`, `response_format`
// (json — the default —, text, srt, vtt). JSON answers { text, segments, language, duration_s,
// processing_ms }.
import type { FastifyInstance } from 'fastify';

import { formatTranscript, toTranscriptJson, TRANSCRIPT_FORMATS, type TranscriptFormat } from '../../transcript/formats.js';
import { booleanField, enumField, languageField, rejectUnknownFields } from '../form-fields.js';
import { runTranscription, type TranscriptionRoute } from '../transcription-request.js';

const CONTENT_TYPES: Record<TranscriptFormat, string> = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

const route: TranscriptionRoute<{ format: TranscriptFormat }> = {
  route: 'transcribe',
  fileFields: ['audio'],
  parse(fields) {
    rejectUnknownFields(fields, ['language', 'translate', 'response_format']);
    const language = languageField(fields);
    const translate = booleanField(fields, 'translate');
    const format = enumField(fields, 'response_format', TRANSCRIPT_FORMATS) ?? 'json';
    return {
      params: { format },
      options: { ...(language !== undefined && { language }), ...(translate !== undefined && { translate }) },
    };
  },
};

export async function transcribeRoutes(app: FastifyInstance): Promise<void> {
  app.post('/transcribe', async (request, reply) => {
    const { transcription, params, processingMs } = await runTranscription(app, request, reply, route);
    reply.type(CONTENT_TYPES[params.format]);
    if (params.format === 'json') return { ...toTranscriptJson(transcription), processing_ms: Math.round(processingMs) };
    return formatTranscript(transcription, params.format);
  });
}
