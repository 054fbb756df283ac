// Whether this instance can take work now without harm, for GET /ready and the talk2me_ready
// gauge: not while the model loads for the first time or a reload drains, not under memory
// pressure (over a threshold while the cleanup ladder works on it; see memory-pressure.ts for when
// it ends), not while predictive admission refuses new work for want of memory (until a fresh
// reading would admit it), not while uploads cannot be staged (UPLOAD_DIR gone and not recreatable, or its disk
// short of space), and not during shutdown. Work already accepted still runs to its end.
import type { ModelState } from '../model/host.js';
import type { Services } from './services.js';
import { stagingProblem } from './staging.js';

export interface ReadinessState {
  shuttingDown: boolean;
}

export interface Readiness {
  ready: boolean;
  model: ModelState;
  /** Why not, when not ready. */
  reason?: string;
  /** The threshold crossed, under memory pressure. */
  memory?: string;
}

export async function readinessOf(services: Services, state: ReadinessState): Promise<Readiness> {
  const { model } = services;
  const modelState = model.state;
  // An idle-unloaded model loads on the next request: still ready.
  const modelReady = modelState === 'ready' || (modelState === 'unloaded' && model.stats().unloads > 0);
  const pressure = await services.memory.currentPressure();
  // Also recreates a vanished upload directory, so readiness comes back by itself.
  const staging = await stagingProblem(services);
  const notReady = (reason: string, memory?: string | null): Readiness => ({ ready: false, model: modelState, reason, ...(memory && { memory }) });
  if (state.shuttingDown) return notReady('shutting down');
  if (!modelReady) return notReady(modelState === 'reloading' ? 'model reload draining' : modelState);
  if (pressure.active) return notReady('memory above threshold', pressure.reason);
  // Transcriptions that would need a new whisper state are being refused: work goes elsewhere.
  const short = await services.memory.admission.stillRefusing();
  if (short !== null) return notReady('memory short of a new whisper state', short);
  if (staging !== null) return notReady(staging.code === 'INSUFFICIENT_STORAGE' ? 'upload directory short of disk space' : 'upload directory unavailable');
  return { ready: true, model: modelState };
}
