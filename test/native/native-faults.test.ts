// No C++ exception crosses the N-API boundary: faults injected at named sites of the addon (see
// native/core/fault.h) come back as WhisperErrors with a code, the process lives on, and the
// model still works afterwards.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { loadBinding, type NativeFaultKind, type NativeFaultSite } from '../../src/native/binding.js';
import { spawnPiped } from '../../src/native/child-process.js';
import { systemInfo, WhisperError, WhisperModel } from '../../src/native/index.js';
import { syllableTones } from '../helpers/signals.js';
import { useSyntheticModel } from '../helpers/synthetic-model.js';

const fixture = useSyntheticModel('mini', 'native-faults');
const clip = syllableTones(2);

function arm(site: NativeFaultSite, kind: NativeFaultKind): void {
  loadBinding()._injectFault(site, kind);
}

const CODE: Partial<Record<NativeFaultKind, string>> = { bad_alloc: 'OUT_OF_MEMORY', runtime_error: 'INTERNAL_ERROR' };

async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  return undefined;
}

let model: WhisperModel;

beforeAll(async () => {
  model = await WhisperModel.load(fixture.path, { threads: 1 });
  return () => model.dispose();
});

afterEach(() => {
  loadBinding()._injectFault(null);
});

describe.each<'bad_alloc' | 'runtime_error'>(['bad_alloc', 'runtime_error'])('a %s thrown in the addon', (kind) => {
  const sites: Array<[NativeFaultSite, () => unknown]> = [
    ['transcribe', () => model.transcribe(clip)],
    ['transcribe.result', () => model.transcribe(clip)],
    ['info', () => model.info],
    ['systemInfo', () => systemInfo()],
    ['spawnPiped', () => spawnPiped('true', [])],
  ];

  it.each(sites)('at %s becomes a WhisperError with its code, and the model still works', async (site, call) => {
    arm(site, kind);
    const error = await failure(call);
    expect(error).toBeInstanceOf(WhisperError);
    expect(error).toMatchObject({ code: CODE[kind] });
    expect((await model.transcribe(clip)).segments.length).toBeGreaterThan(0);
    expect(model.info.nMels).toBe(80);
  });

  it('while reaping a child is reported on the child, which is still reaped once the fault is gone', async () => {
    const child = spawnPiped('sh', ['-c', 'exit 7']);
    const errors: unknown[] = [];
    child.on('error', (err) => errors.push(err));
    arm('reapChild', kind);
    const [code] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    expect(errors).toEqual([expect.objectContaining({ code: CODE[kind] })]);
    expect(errors[0]).toBeInstanceOf(WhisperError);
    expect(code).toBe(7);
  });

  it('in Context::load after whisper.cpp made the context rejects the load and frees the context', async () => {
    const live = systemInfo().liveContexts;
    arm('context.load', kind);
    const error = await failure(() => WhisperModel.load(fixture.path, { threads: 1 }));
    expect(error).toBeInstanceOf(WhisperError);
    expect(error).toMatchObject({ code: CODE[kind] });
    expect(systemInfo().liveContexts).toBe(live);
    await using again = await WhisperModel.load(fixture.path, { threads: 1 });
    expect(systemInfo().liveContexts).toBe(live + 1);
    expect((await again.transcribe(clip)).segments.length).toBeGreaterThan(0);
  });
});
