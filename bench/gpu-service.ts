/**
 * The GPU service check's driver (issue 13, item 8): runs `talk2me serve` itself — the CLI from an
 * installed app directory, not the C++ harness — and checks on it, through HTTP only:
 *   1. the memory manager reads the GPU (GET /admin/memory: gpu_mb and gpu_total_mb from
 *      cudaMemGetInfo; /metrics: talk2me_gpu_memory_used_bytes);
 *   2. a model reload under load (POST /admin/model/reload while clients keep sending) fails no
 *      request, and the reload really overlapped work (previous_draining);
 *   3. device memory in use comes back to its baseline after load + trim and after an idle reload
 *      + trim (the baseline as scripts/gpu-check.sh takes it: after load, one warm-up transcription
 *      per state and a trim; what CUDA loads on first use stays for the process's life);
 *   4. SIGTERM shuts it down with exit 0;
 * and measures throughput against whisper-server on the same model, clip, threads per transcription
 * and decoding, both through POST /inference with the same form, both up at once and measured in
 * alternating rounds, and prints both.
 *
 * Without a GPU (a CPU build) the device checks are skipped, said so, and everything else runs: that
 * is the dry run. scripts/gpu-service-check.sh builds what this needs and bundles this file with
 * esbuild, so it runs on a machine with Node and nothing else:
 *
 *   node gpu-service.mjs --app DIR --model FILE [--whisper-server BIN] [--require-gpu] [--concurrency 4]
 *     [--threads 4] [--clients 8] [--requests 200] [--seconds 5] [--rounds 3] [--vram-tolerance-mb 32] [--work DIR]
 *
 * Exit status: 0 every check passed, 1 a check failed, 2 an error (the run could not be completed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { syllableTones } from '../test/helpers/signals.js';
import { pcm16Wav } from './http-audio.js';
import { multipartRequest, runClients, type ClientRun, type PreparedRequest } from './http-client.js';
import { WHISPER_SERVER_DECODING_ARGS, WHISPER_SERVER_FIELDS } from './http-decoding.js';
import { freePort, startWhisperServer } from './http-servers.js';
import { median } from './stats.js';

const ADMIN_TOKEN = 'gpu-service-check-admin-token-0123456789';
const START_TIMEOUT_MS = 180_000;

const say = (line: string): void => {
  process.stdout.write(`gpu-service: ${line}\n`);
};

interface Options {
  app: string;
  /** null: the throughput comparison is skipped (the quick test of this driver). */
  whisperServer: string | null;
  model: string;
  requireGpu: boolean;
  concurrency: number;
  threads: number;
  clients: number;
  requests: number;
  seconds: number;
  /** Throughput rounds against whisper-server. */
  rounds: number;
  vramToleranceMb: number;
  work: string;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      'whisper-server': { type: 'string' },
      model: { type: 'string' },
      'require-gpu': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '4' },
      threads: { type: 'string', default: '4' },
      clients: { type: 'string', default: '8' },
      requests: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      'vram-tolerance-mb': { type: 'string', default: '32' },
      work: { type: 'string' },
    },
  });
  const positive = (name: string, text: string | undefined): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`Expected a positive integer for --${name} but received ${String(text)}`);
    return n;
  };
  const required = (name: string, value: string | undefined): string => {
    if (!value) throw new Error(`--${name} is required`);
    return value;
  };
  const work = values.work ?? mkdtempSync(join(tmpdir(), 'talk2me-gpu-service-'));
  mkdirSync(work, { recursive: true });
  return {
    app: required('app', values.app),
    whisperServer: values['whisper-server'] ?? null,
    model: required('model', values.model),
    requireGpu: values['require-gpu'] === true,
    concurrency: positive('concurrency', values.concurrency),
    threads: positive('threads', values.threads),
    clients: positive('clients', values.clients),
    requests: positive('requests', values.requests),
    seconds: positive('seconds', values.seconds),
    rounds: positive('rounds', values.rounds),
    vramToleranceMb: positive('vram-tolerance-mb', values['vram-tolerance-mb']),
    work,
  };
}

// --- talking to the server -------------------------------------------------------------------------

interface Answer {
  status: number;
  json: unknown;
  text: string;
}

/** One request with a JSON body or none, on a fresh connection. */
function call(base: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        agent: false,
        timeout: 120_000,
        headers: { ...headers, ...(payload && { 'content-type': 'application/json', 'content-length': String(payload.length) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON (metrics, a plain-text error): the text is kept
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 120 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const admin = (base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> => call(base, method, path, body, { 'x-admin-token': ADMIN_TOKEN });

interface MemoryFigures {
  process_mb: number;
  gpu_mb: number | null;
  gpu_total_mb: number | null;
  gpu_baseline_mb: number | null;
}
interface ModelFigures {
  reload_count: number;
  last_reload_ok: boolean | null;
  states: { total: number; idle: number; busy: number; max: number } | null;
}

async function memoryStats(base: string): Promise<{ memory: MemoryFigures; model: ModelFigures }> {
  const answer = await admin(base, 'GET', '/admin/memory');
  if (answer.status !== 200) throw new Error(`GET /admin/memory answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json as { memory: MemoryFigures; model: ModelFigures };
}

/** An aggressive cleanup (trim of the idle whisper states), then the figures after it. */
async function trim(base: string): Promise<MemoryFigures> {
  const answer = await admin(base, 'POST', '/admin/memory/cleanup', { aggressive: true });
  if (answer.status !== 200) throw new Error(`POST /admin/memory/cleanup answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return (await memoryStats(base)).memory;
}

interface Served {
  url: string;
  child: ChildProcess;
  logFile: string;
  /** SIGTERM, then the exit code (null when it died by a signal). */
  stop(): Promise<number | null>;
}

/** `talk2me serve` from the app directory, on 127.0.0.1 and a free port, once /ready answers 200. */
async function serve(options: Options, label: string): Promise<Served> {
  const port = await freePort();
  const logFile = join(options.work, `${label}.log`);
  const log = openSync(logFile, 'a');
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    WHISPER_MODEL: options.model,
    ADMIN_TOKEN,
    LOG_FILE: 'off',
    MAX_CONCURRENCY: String(options.concurrency),
    WHISPER_THREADS: String(options.threads),
    MAX_QUEUE: String(Math.max(16, options.clients * 2)),
    ADDRESS_MAX_CONCURRENT: String(Math.max(8, options.clients * 2)),
    UPLOAD_DIR: join(options.work, `${label}-uploads`),
    // The check drives the ladder itself (POST /admin/memory/cleanup): no check of its own meanwhile.
    CLEANUP_INTERVAL_S: '3600',
    MODEL_RELOAD_MIN_INTERVAL_S: '0',
  };
  const child = spawn(process.execPath, [join(options.app, 'dist', 'cli.js'), 'serve'], { env, stdio: ['ignore', log, log] });
  closeSync(log);
  let exit: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exit = code))));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exit !== undefined) throw new Error(`talk2me serve exited during start-up (${String(exit)}); its log: ${logFile}\n${tail(logFile)}`);
    const ready = await call(url, 'GET', '/ready').catch(() => null);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`talk2me serve was not ready within ${START_TIMEOUT_MS / 1000} s; its log: ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async (): Promise<number | null> => {
    if (exit === undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { url, child, logFile, stop };
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// --- the run ---------------------------------------------------------------------------------------

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const failuresOf = (run: ClientRun): string[] =>
  run.outcomes.filter((o) => o.status !== 200).map((o) => `${o.status ?? o.error ?? 'no answer'}: ${o.body.slice(0, 120)}`);
const perSecond = (run: ClientRun): number => run.outcomes.length / (run.wallMs / 1000);
const mb = (value: number | null | undefined): string => (value === null || value === undefined ? 'n/a' : `${value.toFixed(1)} MiB`);
const signedMb = (value: number): string => `${value >= 0 ? '+' : ''}${value.toFixed(1)} MiB`;

/** Rounds of the same requests to talk2me and to whisper-server, alternating which goes first. */
async function compareThroughput(
  options: Options,
  binary: string,
  talk2me: string,
  inference: (n: number) => PreparedRequest[],
  sessions: (client: number) => Record<string, string>,
  check: (name: string, ok: boolean, detail: string) => void,
): Promise<void> {
  const peer = await startWhisperServer({
    label: `whisper-server -t ${options.threads}`,
    binary,
    model: options.model,
    threads: options.threads,
    decodingArgs: WHISPER_SERVER_DECODING_ARGS,
    logFile: join(options.work, 'whisper-server.log'),
  });
  const rates = { talk2me: [] as number[], whisper: [] as number[] };
  const failures: string[] = [];
  try {
    await runClients(peer.url, inference(options.concurrency * 2), options.concurrency); // its warm-up
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (['talk2me', 'whisper'] as const) : (['whisper', 'talk2me'] as const);
      for (const which of order) {
        const run = which === 'talk2me' ? await runClients(talk2me, inference(options.requests), options.clients, sessions) : await runClients(peer.url, inference(options.requests), options.clients);
        failures.push(...failuresOf(run).map((f) => `${which}: ${f}`));
        rates[which].push(perSecond(run));
      }
      say(`round ${round + 1}: talk2me ${rates.talk2me[round]!.toFixed(2)} req/s, whisper-server ${rates.whisper[round]!.toFixed(2)} req/s (${order.join(' first, then ')})`);
    }
  } finally {
    await peer.stop();
  }
  check('throughput runs', failures.length === 0, `${options.rounds} rounds of ${options.requests} requests each; failures: ${failures.slice(0, 5).join('; ') || 'none'}`);
  const ratios = rates.talk2me.map((r, i) => r / rates.whisper[i]!);
  say(
    `throughput, ${options.clients} clients, same model, clip, threads per transcription and decoding: talk2me (MAX_CONCURRENCY=${options.concurrency}, WHISPER_THREADS=${options.threads}) ` +
      `median ${median(rates.talk2me).toFixed(2)} req/s, whisper-server (-t ${options.threads}, one transcription at a time) median ${median(rates.whisper).toFixed(2)} req/s; ` +
      `ratio talk2me / whisper-server, median of the rounds ${median(ratios).toFixed(3)} (range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`,
  );
}

async function main(): Promise<number> {
  const options = readOptions();
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
    say(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };
  const clip = pcm16Wav(syllableTones(options.seconds));
  const one = multipartRequest('inference', '/inference', WHISPER_SERVER_FIELDS, [{ name: 'file', filename: 'clip.wav', contentType: 'audio/wav', data: clip }]);
  const inference = (n: number): PreparedRequest[] => new Array<PreparedRequest>(n).fill(one);
  const sessions = (client: number): Record<string, string> => ({ 'x-session-id': `gpu-service-client-${client}` });
  say(`talk2me serve from ${options.app}; model ${options.model}; MAX_CONCURRENCY=${options.concurrency} WHISPER_THREADS=${options.threads}; ${options.clients} clients; ${options.seconds} s clip; logs in ${options.work}`);

  const server = await serve(options, 'talk2me');
  let stopped = false;
  try {
    // 1. The memory manager reads the GPU.
    const first = await memoryStats(server.url);
    const gpu = first.memory.gpu_mb !== null && first.memory.gpu_total_mb !== null;
    if (gpu) {
      check('GPU memory read by the memory manager', true, `gpu_mb ${mb(first.memory.gpu_mb)} of gpu_total_mb ${mb(first.memory.gpu_total_mb)} (cudaMemGetInfo), process_mb ${mb(first.memory.process_mb)}`);
      const metrics = await call(server.url, 'GET', '/metrics');
      const line = /^talk2me_gpu_memory_used_bytes (\S+)$/m.exec(metrics.text);
      check('GPU memory in /metrics', line !== null, line ? `talk2me_gpu_memory_used_bytes ${line[1]}` : 'talk2me_gpu_memory_used_bytes is absent');
    } else if (options.requireGpu) {
      check('GPU memory read by the memory manager', false, `gpu_mb and gpu_total_mb are null: no CUDA device seen (a CPU build, or no GPU); ${tail(server.logFile, 5)}`);
    } else {
      say('no GPU: device checks skipped (GET /admin/memory reports gpu_mb null); the rest runs as on a GPU');
    }

    // 2. Warm-up: one transcription per state, then the baseline after a trim.
    const warm = await runClients(server.url, inference(options.concurrency * 2), options.concurrency, sessions);
    check('warm-up', failuresOf(warm).length === 0, `${warm.outcomes.length} requests, failures: ${failuresOf(warm).join('; ') || 'none'}`);
    const baseline = await trim(server.url);
    say(`baseline after warm-up and trim: gpu ${mb(baseline.gpu_mb)}, rss ${mb(baseline.process_mb)}`);

    // 3. A reload under load: clients keep sending while the model is recreated.
    const before = await memoryStats(server.url);
    let reloadAnswer: Promise<Answer> | undefined;
    let reloadAt = -1;
    const load = await runClients(server.url, inference(options.requests), options.clients, sessions, (done) => {
      if (reloadAnswer === undefined && done >= Math.floor(options.requests / 3)) {
        reloadAt = done;
        reloadAnswer = admin(server.url, 'POST', '/admin/model/reload', {});
      }
    });
    const reload = reloadAnswer ? await reloadAnswer : undefined;
    const after = await memoryStats(server.url);
    const loadFailures = failuresOf(load);
    check('no failed request during the reload', loadFailures.length === 0, `${load.outcomes.length} requests, ${options.clients} clients, ${perSecond(load).toFixed(1)} req/s; failures: ${loadFailures.slice(0, 5).join('; ') || 'none'}`);
    const answer = reload?.json as { reloaded?: boolean; load_ms?: number; previous_draining?: boolean } | null | undefined;
    check(
      'reload under load',
      reload?.status === 200 && answer?.reloaded === true && answer.previous_draining === true && after.model.reload_count === before.model.reload_count + 1 && after.model.last_reload_ok === true,
      `asked after ${reloadAt} answers: ${reload?.status ?? 'not sent'} ${JSON.stringify(answer ?? reload?.text ?? null)}; reload_count ${before.model.reload_count} -> ${after.model.reload_count}`,
    );

    // 4. Device memory back at the baseline: after the load and a trim, then after an idle reload and a trim.
    const afterLoad = await trim(server.url);
    const idleReload = await admin(server.url, 'POST', '/admin/model/reload', {});
    if (idleReload.status !== 200) throw new Error(`the idle reload answered ${idleReload.status}: ${idleReload.text.slice(0, 300)}`);
    const afterReload = await trim(server.url);
    say(`rss: baseline ${mb(baseline.process_mb)}, after load + trim ${mb(afterLoad.process_mb)} (${signedMb(afterLoad.process_mb - baseline.process_mb)}), after reload + trim ${mb(afterReload.process_mb)} (${signedMb(afterReload.process_mb - baseline.process_mb)})`);
    if (gpu && baseline.gpu_mb !== null && afterLoad.gpu_mb !== null && afterReload.gpu_mb !== null) {
      for (const [step, figures] of [
        ['after load + trim', afterLoad],
        ['after idle reload + trim', afterReload],
      ] as const) {
        const delta = (figures.gpu_mb ?? 0) - baseline.gpu_mb;
        check(`VRAM back to baseline ${step}`, delta <= options.vramToleranceMb, `${mb(figures.gpu_mb)} vs ${mb(baseline.gpu_mb)} (${signedMb(delta)}; tolerance ${options.vramToleranceMb} MiB)`);
      }
    }

    // 5. Throughput against whisper-server, both up at once and measured in turns (the order
    // alternating), so a neighbour's load falls on both alike.
    if (options.whisperServer === null) {
      const alone = await runClients(server.url, inference(options.requests), options.clients, sessions);
      check('talk2me throughput run', failuresOf(alone).length === 0, `${perSecond(alone).toFixed(2)} req/s; no --whisper-server: comparison skipped`);
    } else {
      await compareThroughput(options, options.whisperServer, server.url, inference, sessions, check);
    }
    const exit = await server.stop();
    stopped = true;
    check('SIGTERM: graceful shutdown', exit === 0, `exit code ${String(exit)}`);
  } finally {
    if (!stopped) await server.stop();
  }

  const failed = checks.filter((c) => !c.ok);
  say(failed.length === 0 ? `PASS: ${checks.length} checks${checks.some((c) => c.name.startsWith('VRAM')) ? '' : ' (no GPU: device checks skipped)'}` : `FAIL: ${failed.map((c) => c.name).join(', ')}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
