/**
 * whisper.cpp's own timers in whisper-cli and whisper-server, same build (build-peers/), model,
 * clip and decoding: where bench:http's whisper-server spends its time on a load.
 *
 *   npx tsx bench/peer-timers.ts [--decoder speechlike|encoder-bound] [--seconds 5] [--requests 24]
 *
 * The synthetic tiny.en model with the chosen decoder and a clip of syllable tones, then:
 * whisper-cli three times at 2 threads and at 1 (its timers per run), and whisper-server at 2
 * threads and at 1 serving `requests` requests one at a time, and at 2 threads with 4 clients
 * (its timers are cumulative and printed when it exits: per run = total / runs, its start-up
 * warm-up run included). Decoding as bench:http: greedy, best_of 1, temperature 0 without
 * fallback, timestamps, no token timestamps, language en, flash attention.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { SYNTHETIC_DECODERS, writeSyntheticModel, type SyntheticDecoder } from '../src/model/synthetic.js';
import { syllableTones } from '../test/helpers/signals.js';
import { pcm16Wav } from './http-audio.js';
import { multipartRequest, runClients } from './http-client.js';
import { WHISPER_SERVER_DECODING_ARGS, WHISPER_SERVER_FIELDS } from './http-decoding.js';
import { startWhisperServer } from './http-servers.js';
import { buildPeers } from './peers.js';
import { loadAverages, log, positiveInt, runToEnd } from './report.js';

const { values } = parseArgs({
  options: {
    decoder: { type: 'string', default: 'speechlike' },
    seconds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '24' },
  },
});
const decoder = values.decoder as SyntheticDecoder;
if (!SYNTHETIC_DECODERS.includes(decoder)) throw new Error(`--decoder must be one of ${SYNTHETIC_DECODERS.join(', ')}`);
const seconds = positiveInt('seconds', values.seconds);
const requests = positiveInt('requests', values.requests);

/** whisper_print_timings lines: phase -> "N ms / R runs (P ms per run)". */
function timers(text: string): string {
  const wanted = ['mel time', 'sample time', 'encode time', 'decode time'];
  return text
    .split('\n')
    .filter((line) => line.startsWith('whisper_print_timings:') && wanted.some((w) => line.includes(w)))
    .map((line) => line.replace('whisper_print_timings:', '').replace(/\s+/g, ' ').trim())
    .join('; ');
}

const peers = await buildPeers({ log: (line) => process.stderr.write(`${line}\n`) });
if (!peers.server) throw new Error('whisper-server was not built');
const dir = await mkdtemp(join(tmpdir(), 'talk2me-peer-timers-'));
try {
  const model = join(dir, `tiny-${decoder}.bin`);
  const clip = join(dir, 'clip.wav');
  await writeSyntheticModel(model, { dims: 'tiny', decoder });
  const wav = pcm16Wav(syllableTones(seconds));
  await writeFile(clip, wav);
  log(`# peer timers: whisper.cpp's own timers in whisper-cli and whisper-server`);
  log();
  log(`model: synthetic tiny.en, ${decoder}; clip: ${seconds} s of syllable tones; load average at start ${loadAverages()}`);
  log();
  for (const threads of [2, 1]) {
    for (let i = 0; i < 3; i++) {
      const r = await runToEnd(peers.cli, ['-m', model, '-f', clip, '-t', String(threads), '-l', 'en', '-bs', '1', '-bo', '1', '-tp', '0', '-fa']);
      log(`whisper-cli -t ${threads}, run ${i + 1}: ${timers(r.stderr)}`);
    }
  }
  const request = multipartRequest('good', '/inference', WHISPER_SERVER_FIELDS, [{ name: 'file', filename: 'clip.wav', contentType: 'audio/wav', data: wav }]);
  for (const [threads, clients] of [
    [2, 1],
    [1, 1],
    [2, 4],
  ] as const) {
    const logFile = join(dir, `server-t${threads}-c${clients}.log`);
    const server = await startWhisperServer({ label: 'whisper-server', binary: peers.server, model, threads, decodingArgs: WHISPER_SERVER_DECODING_ARGS, logFile });
    const run = await runClients(server.url, Array.from({ length: requests }, () => request), clients, () => ({}));
    await server.stop();
    const failed = run.outcomes.filter((o) => o.status !== 200).length;
    log(`whisper-server -t ${threads}, ${requests} requests, ${clients} client(s), ${(run.wallMs / 1000).toFixed(2)} s${failed ? `, ${failed} FAILED` : ''}: ${timers(await readFile(logFile, 'utf8'))}`);
  }
  log();
  log(`load average at end ${loadAverages()}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
