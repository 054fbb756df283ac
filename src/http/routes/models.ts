// GET /v1/models and GET /v1/models/{id}, as OpenAI's API lists models: the one model this server
// has loaded. Its id is the model file's name without "ggml-" and ".bin" (e.g. "tiny.en");
// "whisper-1", the name OpenAI's clients send by default, answers too, since whatever model a
// transcription names, this server's model answers it.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { HttpError } from '../errors.js';

export const OPENAI_DEFAULT_MODEL = 'whisper-1';

export function modelId(path: string): string {
  return basename(path).replace(/^ggml-/, '').replace(/\.bin$/, '');
}

export async function modelsRoutes(app: FastifyInstance): Promise<void> {
  const describe = async () => {
    const path = app.services.model.path;
    // The file's modification time: when this model came to be, as far as this server can tell.
    const created = await stat(path).then(
      (s) => Math.floor(s.mtimeMs / 1000),
      () => null,
    );
    return { id: modelId(path), object: 'model' as const, ...(created !== null && { created }), owned_by: 'talk2me' };
  };

  app.get('/v1/models', async () => ({ object: 'list', data: [await describe()] }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (request) => {
    const model = await describe();
    if (request.params.id !== model.id && request.params.id !== OPENAI_DEFAULT_MODEL) {
      throw new HttpError(404, 'MODEL_NOT_FOUND', `This server serves the model ${model.id} (also as ${OPENAI_DEFAULT_MODEL}), not another`);
    }
    return { ...model, id: request.params.id };
  });
}
