// Loading a (new) model while the current one serves, for the operator's routes (POST
// /admin/model/reload and whisper.cpp's POST /load): a model that cannot be loaded is the request's
// fault here, and the current one keeps serving.
import type { FastifyInstance } from 'fastify';

import { hasControlCharacter, PATH_WITHOUT_CONTROLS } from '../shared/paths.js';
import { HttpError } from './errors.js';

export interface ReloadAnswer {
  reloaded: true;
  path: string;
  previous_path: string;
  load_ms: number;
  previous_draining: boolean;
}

export async function reloadModel(app: FastifyInstance, path: string | undefined, reason: string): Promise<ReloadAnswer> {
  // A NUL would cut the path short in the C code below; other controls would forge log lines.
  if (path !== undefined && hasControlCharacter(path)) {
    throw new HttpError(400, 'INVALID_PARAMETER', `Expected ${PATH_WITHOUT_CONTROLS} for the model path but received a string with one`);
  }
  const { model } = app.services;
  if (model.state !== 'ready') await model.acquire();
  let report;
  try {
    report = await model.recreate(reason, path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code?.startsWith('MODEL_')) throw new HttpError(422, code, `${(err as Error).message}; the current model keeps serving`);
    throw err;
  }
  if (!report) throw new HttpError(409, 'RELOAD_IN_PROGRESS', 'A reload is already running');
  return { reloaded: true, path: report.path, previous_path: report.previousPath, load_ms: Math.round(report.loadMs), previous_draining: report.previousDraining };
}
