// The operator's view and levers, behind X-Admin-Token.
import type { FastifyInstance } from 'fastify';

import type { LadderRun } from '../../memory/cleanup-ladder.js';
import { HttpError } from '../errors.js';
import { requireToken } from '../token-guard.js';
import { invalidValue } from '../../shared/errors.js';
import { hasControlCharacter, PATH_WITHOUT_CONTROLS } from '../../shared/paths.js';

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'INVALID_BODY', 'Expected a JSON object');
  return body as Record<string, unknown>;
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean {
  const value = body[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new HttpError(400, 'INVALID_PARAMETER', invalidValue(name, 'a boolean', value));
  return value;
}

function describeRun(run: LadderRun) {
  return {
    level: run.level,
    duration_ms: run.durationMs,
    freed_mb: Math.round((run.freedBytes / 1024 / 1024) * 10) / 10,
    steps: run.rungs.map((r) => ({
      level: r.level,
      reason: r.reason,
      duration_ms: r.durationMs,
      before: r.before,
      ...(r.after && { after: r.after }),
      ...(r.filesRemoved !== undefined && { files_removed: r.filesRemoved }),
      ...(r.trim && { trim: { states_freed: r.trim.statesFreed, rss_released_mb: Math.round((r.trim.rssReleasedBytes / 1024 / 1024) * 10) / 10 } }),
      ...(r.reload && { reload: r.reload }),
    })),
  };
}

export async function adminRoutes(app: FastifyInstance, options: { token: string }): Promise<void> {
  app.addHook('preHandler', requireToken(options.token, 'x-admin-token'));

  app.get('/admin/memory', async () => app.services.memory.getStats());

  app.post('/admin/memory/cleanup', async (request) => {
    const body = asObject(request.body);
    const aggressive = optionalBoolean(body, 'aggressive');
    const reload = optionalBoolean(body, 'reload_model');
    const before = await app.services.memory.getStats();
    const run = await app.services.memory.cleanup({ aggressive, reload });
    const after = await app.services.memory.getStats();
    return { done: describeRun(run), before: before.memory, after: after.memory };
  });

  app.post('/admin/model/reload', async (request) => {
    const body = asObject(request.body);
    const path = body.path;
    if (path !== undefined && (typeof path !== 'string' || path.length === 0)) {
      throw new HttpError(400, 'INVALID_PARAMETER', invalidValue('path', 'a non-empty string', path));
    }
    if (typeof path === 'string' && hasControlCharacter(path)) {
      throw new HttpError(400, 'INVALID_PARAMETER', `Expected ${PATH_WITHOUT_CONTROLS} for path but received a string with one`);
    }
    const { model } = app.services;
    if (model.state !== 'ready') await model.acquire();
    let report;
    try {
      report = await model.recreate('admin request', path as string | undefined);
    } catch (err) {
      // A model that cannot be loaded is the request's fault here; the current one keeps serving.
      const code = (err as { code?: string }).code;
      if (code?.startsWith('MODEL_')) throw new HttpError(422, code, `${(err as Error).message}; the current model keeps serving`);
      throw err;
    }
    if (!report) throw new HttpError(409, 'RELOAD_IN_PROGRESS', 'A reload is already running');
    return { reloaded: true, path: report.path, previous_path: report.previousPath, load_ms: Math.round(report.loadMs), previous_draining: report.previousDraining };
  });

  app.get('/admin/sessions', async () => ({ stats: app.services.sessions.stats(), sessions: app.services.sessions.list() }));
}
