// The measurement behind the page's upload choice (web/README.md, "Upload"): a clip sent as
// recorded (Opus in WebM, decoded by the server's ffmpeg) against the same clip converted to 16 kHz
// mono WAV in the browser (decoded natively by the server). Same recording, same server, side by side.
//
//   npx tsx test/web/upload-bench.ts [--seconds 10,60] [--runs 3]
//
// Chromium records the fake microphone twice at once (its default Opus bitrate and the page's
// 32 kb/s); each clip is then uploaded as recorded and as WAV to the real server (synthetic `mini`
// model), unthrottled and through a 10 Mbit/s uplink (CDP network emulation). Memory: the renderer process's RSS, sampled every 5 ms from /proc, peak over the
// operation minus the value before it. Server decode: decodeAudioFile() on the same bytes in Node.
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { decodeAudioFile } from '../../src/audio/index.js';
import { median } from '../../bench/stats.js';
import { bundle, buildWeb } from '../../web/build.js';
import { tempDir } from '../helpers/temp-dir.js';
import { hasChromium, launchChromium, NO_CHROMIUM_REASON } from './helpers/chromium.js';
import { writeFakeMicrophone } from './helpers/fake-microphone.js';
import { waitForExpression } from './helpers/page-driver.js';
import { startTestServer } from './helpers/test-server.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10,60' }, runs: { type: 'string', default: '3' } } });
const lengths = (values.seconds ?? '10,60').split(',').map(Number);
const runs = Number(values.runs);

interface Outcome {
  wallMs: number;
  processing_ms: number;
  uploadedBytes: number;
  convertMs?: number;
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function rendererPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('--type=renderer') && !cmdline.includes('--extension-process')) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function rssBytes(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** Runs `fn` while sampling the renderers' RSS; returns its result and the peak growth in bytes. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  const pids = rendererPids();
  const before = rssBytes(pids);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pids))), 5);
  try {
    const result = await fn();
    peak = Math.max(peak, rssBytes(pids));
    return { result, peakBytes: peak - before };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  if (!hasChromium) throw new Error(NO_CHROMIUM_REASON);
  const dir = await tempDir('upload-bench');
  const webRoot = join(dir.path, 'www');
  await buildWeb(webRoot);
  await writeFile(join(webRoot, 'bench.js'), await bundle('src/bench/upload-bench-entry.ts'));
  await writeFile(join(webRoot, 'bench.html'), '<!doctype html><meta charset="utf-8"><title>upload bench</title><script type="module" src="bench.js"></script>');
  const microphone = await writeFakeMicrophone(join(dir.path, 'mic.wav'), Math.max(...lengths) + 5);
  const server = await startTestServer(webRoot);
  const browser = await launchChromium({ microphone });
  const { page, cdp } = browser;
  const rows: string[] = [];
  const decodeRows: string[] = [];
  try {
    await page.goto(`${server.url}/bench.html`);
    await waitForExpression(page, 'globalThis.uploadBench !== undefined', 30_000);
    const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
    console.log(`${cpu}, ${availableParallelism()} cores · Chromium ${browser.context.browser()?.version() ?? ''} · ${runs} runs per figure (median) · clip lengths ${lengths.join(', ')} s`);
    for (const seconds of lengths) {
      const pair = (await page.evaluate(`uploadBench.recordPair(${seconds * 1000}, undefined, 32000)`)) as Record<'a' | 'b', { bytes: number; type: string }>;
      for (const [name, label] of [
        ['a', 'Opus, Chromium default bitrate'],
        ['b', 'Opus 32 kb/s'],
      ] as const) {
        const recorded: Outcome[] = [];
        const wav: Outcome[] = [];
        const convertPeaks: number[] = [];
        const convertMs: number[] = [];
        for (let r = 0; r < runs; r++) {
          recorded.push((await page.evaluate(`uploadBench.uploadRecorded('${name}')`)) as Outcome);
          await cdp.send('HeapProfiler.collectGarbage');
          const { result, peakBytes } = await withPeakRss(() => page.evaluate(`uploadBench.convert('${name}')`) as Promise<{ convertMs: number }>);
          convertPeaks.push(peakBytes);
          convertMs.push(result.convertMs);
          wav.push((await page.evaluate(`uploadBench.uploadWav('${name}')`)) as Outcome);
          await cdp.send('HeapProfiler.collectGarbage');
        }
        // The same uploads through a 10 Mbit/s uplink (Chromium's own network throttling).
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 10e6 / 8, uploadThroughput: 10e6 / 8 });
        const slowRecorded: number[] = [];
        const slowWav: number[] = [];
        for (let r = 0; r < runs; r++) {
          slowRecorded.push(((await page.evaluate(`uploadBench.uploadRecorded('${name}')`)) as Outcome).wallMs);
          slowWav.push(((await page.evaluate(`uploadBench.uploadWav('${name}')`)) as Outcome).wallMs);
        }
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
        const rec = pair[name];
        const wavBytes = wav[0]?.uploadedBytes ?? 0;
        rows.push(
          `| ${seconds} s | ${label} | ${kb(rec.bytes)} | ${kb(wavBytes)} | ${(wavBytes / rec.bytes).toFixed(1)}× | ` +
            `${median(recorded.map((o) => o.processing_ms)).toFixed(0)} / ${median(wav.map((o) => o.processing_ms)).toFixed(0)} ms | ` +
            `${median(recorded.map((o) => o.wallMs)).toFixed(0)} / ${median(wav.map((o) => o.wallMs)).toFixed(0)} ms | ` +
            `${median(slowRecorded).toFixed(0)} / ${median(slowWav).toFixed(0)} ms | ` +
            `${median(convertMs).toFixed(0)} ms | ${mb(median(convertPeaks))} |`,
        );

        // The server's side of it: decoding the same bytes, ffmpeg against the native WAV decoder.
        const recordedPath = join(dir.path, `${seconds}-${name}.webm`);
        await writeFile(recordedPath, Buffer.from((await page.evaluate(`uploadBench.base64('${name}')`)) as string, 'base64'));
        const wavPath = join(dir.path, `${seconds}-${name}.wav`);
        await writeFile(wavPath, Buffer.from((await page.evaluate(`uploadBench.base64('${name}.wav')`)) as string, 'base64'));
        const time = async (path: string): Promise<number> => {
          const times: number[] = [];
          for (let r = 0; r < runs; r++) {
            const t0 = performance.now();
            await decodeAudioFile(path);
            times.push(performance.now() - t0);
          }
          return median(times);
        };
        decodeRows.push(`| ${seconds} s | ${label} | ${(await time(recordedPath)).toFixed(1)} ms | ${(await time(wavPath)).toFixed(1)} ms |`);
        console.error(`done: ${seconds} s, ${label}`);
      }
      await page.evaluate('uploadBench.drop()');
    }
  } finally {
    await browser.close();
    await server.close();
    await dir.remove();
  }
  console.log('\n| clip | recorded as | recorded | WAV 16 kHz | WAV / recorded | server processing_ms (recorded / WAV) | wall, localhost (recorded / WAV) | wall, 10 Mbit/s up (recorded / WAV) | WAV conversion | renderer RSS peak during conversion |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log('\n| clip | recorded as | server decode, recorded (ffmpeg) | server decode, WAV (native) |');
  console.log('|---|---|---|---|');
  for (const row of decodeRows) console.log(row);
}

await main();
