// What lives in a page's JS heap, read through the Chrome DevTools Protocol: a full GC first, then
// Runtime.queryObjects with a constructor's prototype, which finds every object whose prototype
// chain holds it. An AudioContext that was never closed stays in that list however many GCs run.
import type { CDPSession } from 'playwright-core';

const GROUP = 'talk2me-memory-probe';

/** Instances whose own prototype is `constructorName`.prototype (subclass prototypes are not counted). */
export async function countLive(cdp: CDPSession, constructorName: string): Promise<number> {
  return withObjects(cdp, constructorName, `function () { return this.filter((o) => Object.getPrototypeOf(o) === ${constructorName}.prototype).length; }`) as Promise<number>;
}

/**
 * Stores the instances still in use (`isLive`, a function source run on each) in `globalThis[name]`,
 * so the page can be asked about them later.
 */
export async function holdLive(cdp: CDPSession, constructorName: string, isLive: string, name: string): Promise<number> {
  return withObjects(
    cdp,
    constructorName,
    `function () {
      const live = this.filter((o) => Object.getPrototypeOf(o) === ${constructorName}.prototype).filter(${isLive});
      globalThis[${JSON.stringify(name)}] = live;
      return live.length;
    }`,
  ) as Promise<number>;
}

async function withObjects(cdp: CDPSession, constructorName: string, fn: string): Promise<unknown> {
  await cdp.send('HeapProfiler.collectGarbage');
  try {
    const prototype = await cdp.send('Runtime.evaluate', { expression: `${constructorName}.prototype`, objectGroup: GROUP });
    const prototypeId = prototype.result.objectId;
    if (!prototypeId) throw new Error(`${constructorName}.prototype is not an object in this page`);
    const { objects } = await cdp.send('Runtime.queryObjects', { prototypeObjectId: prototypeId, objectGroup: GROUP });
    if (!objects.objectId) throw new Error('queryObjects returned no array');
    const result = await cdp.send('Runtime.callFunctionOn', { objectId: objects.objectId, functionDeclaration: fn, returnByValue: true, objectGroup: GROUP });
    return result.result.value;
  } finally {
    await cdp.send('Runtime.releaseObjectGroup', { objectGroup: GROUP });
  }
}

/** JS heap in use after a full GC (bytes). */
export async function heapUsedAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const usage = await cdp.send('Runtime.getHeapUsage');
  return usage.usedSize;
}
