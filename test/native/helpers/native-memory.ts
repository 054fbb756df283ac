// Run by native-memory.test.ts as its own Node process, with --expose-gc: what V8 is told about a
// model's native memory, and what happens to a model dropped without dispose(). Prints one JSON
// line of figures.
import { systemInfo, WhisperModel } from '../../../src/native/index.js';

const path = process.argv[2]!;
const gc = globalThis.gc!;
// V8's external-memory count (process.memoryUsage().external shows only ArrayBuffers in this V8).
const external = (): number => {
  gc();
  return systemInfo().externalMemory;
};
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const before = external();
const model = await WhisperModel.load(path, { threads: 1 });
const afterLoad = external();
await model.transcribe(new Float32Array(16000).fill(0.01));
const afterTranscribe = external();
const memory = await model.memory();
await model.dispose();
const afterDispose = external();

// Loaded, used and dropped: only the garbage collector can free it.
const liveBeforeDrop = systemInfo().liveContexts;
await (async () => {
  const dropped = await WhisperModel.load(path, { threads: 1 });
  await dropped.transcribe(new Float32Array(16000).fill(0.01));
})();
const liveWhileDropped = systemInfo().liveContexts;
// And one dropped while its transcription still runs: collected only once that has settled.
let inFlightSettled = false;
await (async () => {
  const busy = await WhisperModel.load(path, { threads: 1 });
  void busy.transcribe(new Float32Array(16000 * 8).fill(0.01)).finally(() => {
    inFlightSettled = true;
  });
})();
gc();
const externalWhileDropped = systemInfo().externalMemory;
let rounds = 0;
while (systemInfo().liveContexts > 0 && rounds < 100) {
  gc();
  await pause(20);
  rounds++;
}
const afterCollect = external();
process.stdout.write(
  `${JSON.stringify({
    before,
    afterLoad,
    afterTranscribe,
    afterDispose,
    weightsBytes: memory.weightsBytes,
    stateBytes: memory.bytesPerState * memory.states.total,
    liveBeforeDrop,
    liveWhileDropped,
    externalWhileDropped,
    liveAfterCollect: systemInfo().liveContexts,
    inFlightSettled,
    afterCollect,
  })}\n`,
);
