// Run by native-log.test.ts as its own Node process: a native log handler that throws on every
// line, then a model load and a transcription that log plenty. Prints "alive" if the process
// survives them.
import { setNativeLogger, WhisperModel } from '../../../src/native/index.js';

const model = process.argv[2]!;
let calls = 0;
setNativeLogger(() => {
  calls++;
  throw new Error('a log handler that throws');
}, 'debug');
const loaded = await WhisperModel.load(model, { threads: 1 });
await loaded.transcribe(new Float32Array(16000).fill(0.01));
await loaded.dispose();
await new Promise((resolve) => setTimeout(resolve, 200));
process.stdout.write(`alive after ${calls} lines\n`);
