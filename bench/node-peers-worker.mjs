// One library, one process: bench/node-peers.ts starts this file with plain Node (no TypeScript
// loader, so every library runs in the same bare process) as
//   node --expose-gc bench/node-peers-worker.mjs '<json config>'
// It loads the model, transcribes the clip once (first) and `warm` more times, frees the model, and
// prints one line "RESULT <json>" on stdout. Around each load and transcription an interval timer
// and the JavaScript thread's CPU time tell how long the event loop was kept from running.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2] ?? '{}');
const { library, scratch, repoRoot, modelPath, wavPath, threads, warm, fallback } = config;

const rss = () => process.memoryUsage.rss();

/** Full collections and a pause, so that what is measured is what stays, not garbage. */
async function settle() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(50);
  }
}

/**
 * CPU time the JavaScript thread (the main thread, whose thread id is the process id) has run, in
 * ms, from the scheduler's own account. Unlike a timer's gap it does not grow when the machine is
 * busy and the thread merely waits for a core: it grows only while the thread runs, i.e. while it
 * is kept from serving its event loop by work inside a call.
 */
function mainThreadCpuMs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN; // not Linux
  }
}

/**
 * Watches the event loop until stop(): the longest gap between ticks of a 5 ms interval timer (a
 * library that runs its work on the JavaScript thread shows the whole call as one gap), and the
 * JavaScript thread's CPU time meanwhile. The interval is not 1 ms so that the probe's own ticks
 * (a few microseconds of CPU each) stay small beside what it measures.
 */
function watchLoop() {
  let last = performance.now();
  let maxGapMs = 0;
  const cpu0 = mainThreadCpuMs();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      maxGapMs = Math.max(maxGapMs, performance.now() - last);
      return { maxGapMs, mainThreadCpuMs: mainThreadCpuMs() - cpu0 };
    },
  };
}

// The WAV is the canonical 44-byte-header 16-bit mono 16 kHz file bench/node-peers.ts writes.
const wav = readFileSync(wavPath);
const int16 = () => wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length);
const pcm = new Float32Array((wav.length - 44) / 2);
for (let i = 0; i < pcm.length; i++) pcm[i] = wav.readInt16LE(44 + 2 * i) / 32768;

// Decoding: greedy at temperature 0, language en, `threads` threads, flash attention off (what
// smart-whisper's bundled whisper.cpp always uses); `fallback` selects whisper.cpp's temperature
// fallback in steps of 0.2 with best_of 5 (its defaults, and all @napi-rs/whisper can do), else no
// fallback and best_of 1.
const bestOf = fallback ? 5 : 1;
const increment = fallback ? 0.2 : 0;

/** Each library behind the same four calls; `free` says how its memory is handed back. */
async function open() {
  const requireFrom = (dir) => createRequire(join(scratch, dir, 'package.json'));
  switch (library) {
    case 'talk2me': {
      const { WhisperModel } = await import(pathToFileURL(join(repoRoot, 'dist', 'index.js')).href);
      let model;
      return {
        freeHow: 'dispose()',
        load: async () => {
          model = await WhisperModel.load(modelPath, { threads, flashAttention: false });
        },
        transcribe: async () =>
          (await model.transcribe(pcm, { language: 'en', threads, beamSize: 1, bestOf, temperature: 0, temperatureIncrement: increment, timestamps: true })).text,
        free: async () => {
          await model.dispose();
          model = undefined;
        },
      };
    }
    case '@napi-rs/whisper': {
      const { Whisper, WhisperFullParams, WhisperSamplingStrategy } = requireFrom('napi-rs')('@napi-rs/whisper');
      if (!fallback) throw new Error('WhisperFullParams has no temperature_inc: the fallback cannot be turned off');
      let whisper;
      let params;
      return {
        freeHow: 'none in its API: references dropped, then gc()',
        load: async () => {
          whisper = new Whisper(modelPath, { useGpu: false, flashAttn: false });
          params = new WhisperFullParams(WhisperSamplingStrategy.Greedy);
          params.nThreads = threads;
          params.language = 'en';
          params.temperature = 0;
          params.printProgress = false;
          params.printRealtime = false;
          params.printTimestamps = false;
        },
        transcribe: async () => whisper.full(params, pcm).trim(),
        free: async () => {
          whisper = undefined;
          params = undefined;
        },
      };
    }
    case '@fugood/whisper.node': {
      const { initWhisper } = requireFrom('fugood')('@fugood/whisper.node');
      let context;
      return {
        freeHow: 'release()',
        load: async () => {
          context = await initWhisper({ filePath: modelPath, useGpu: false, useFlashAttn: false });
        },
        transcribe: async () => {
          const options = { language: 'en', maxThreads: threads, beamSize: 1, bestOf, temperature: 0, temperatureInc: increment };
          return (await context.transcribeData(int16(), options).promise).result.trim();
        },
        free: async () => {
          await context.release();
          context = undefined;
        },
      };
    }
    case 'smart-whisper': {
      const { Whisper } = requireFrom('smart-whisper')('smart-whisper');
      let whisper;
      return {
        freeHow: 'free()',
        load: async () => {
          whisper = new Whisper(modelPath, { gpu: false });
          await whisper.load();
        },
        transcribe: async () => {
          const params = { language: 'en', n_threads: threads, strategy: 0, best_of: bestOf, temperature: 0, temperature_inc: increment };
          const task = await whisper.transcribe(pcm, params);
          return (await task.result).map((s) => s.text).join('').trim();
        },
        free: async () => {
          await whisper.free();
          whisper = undefined;
        },
      };
    }
    default:
      throw new Error(`unknown library ${library}`);
  }
}

async function timed(fn) {
  const watch = watchLoop();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  return { ms, value, ...watch.stop() };
}

await settle();
const rssStart = rss();
const lib = await open();
await settle();
const rssImported = rss();
const load = await timed(lib.load);
await settle();
const rssLoaded = rss();
const runs = [];
for (let i = 0; i <= warm; i++) runs.push(await timed(lib.transcribe));
await settle();
const rssAfterWork = rss();
await lib.free();
await settle();
await sleep(300);
await settle();
const rssAfterFree = rss();

const result = {
  library,
  freeHow: lib.freeHow,
  loadMs: load.ms,
  loadMaxGapMs: load.maxGapMs,
  loadMainThreadCpuMs: load.mainThreadCpuMs,
  runs: runs.map((r) => ({ ms: r.ms, maxGapMs: r.maxGapMs, mainThreadCpuMs: r.mainThreadCpuMs, text: r.value })),
  rss: { start: rssStart, imported: rssImported, loaded: rssLoaded, afterWork: rssAfterWork, afterFree: rssAfterFree },
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
// A library's leftover handle (a timer, a thread-safe function) must not keep the worker alive.
process.exit(0);
