/**
 * Starting and stopping the two servers bench/http.ts compares, both on 127.0.0.1:
 *   - talk2me: bench/http-talk2me.ts forked (startServer in a process of its own), port chosen by
 *     the OS and reported back over IPC;
 *   - whisper-server: whisper.cpp's own server built into build-peers/ by bench/peers.ts, on a port
 *     found free just before.
 * Each server's stdout and stderr go to a log file in the benchmark's temp dir.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import type { ChildMessage, ParentMessage } from './http-talk2me.js';

export interface RunningPeer {
  label: string;
  pid: number;
  /** http://127.0.0.1:PORT */
  url: string;
  logFile: string;
  stop(): Promise<void>;
  /** talk2me only: a full garbage collection in the server process; resolves with its memory usage after it. */
  settle?: () => Promise<NodeJS.MemoryUsage>;
}

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 40_000;

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await waitForExit(child, STOP_TIMEOUT_MS);
    })();
    return stopping;
  };
}

export interface Talk2meStart {
  label: string;
  /** Server settings (MAX_CONCURRENCY, WHISPER_MODEL, UPLOAD_DIR, ...), laid over this process's environment. */
  settings: Record<string, string>;
  noFallback: boolean;
  logFile: string;
}

export function startTalk2me(options: Talk2meStart): Promise<RunningPeer> {
  const script = fileURLToPath(new URL('./http-talk2me.ts', import.meta.url));
  const log = openSync(options.logFile, 'a');
  const child = fork(script, options.noFallback ? ['--no-fallback'] : [], {
    env: { ...process.env, ...options.settings, HOST: '127.0.0.1', PORT: '0' },
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  const stop = stopper(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${options.label} did not start within ${START_TIMEOUT_MS / 1000} s (log: ${options.logFile})`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited during start-up (${signal ?? `exit ${String(code)}`}; log: ${options.logFile})`));
    });
    const onStart = (message: ChildMessage): void => {
      if (message.type === 'settled') return;
      child.off('message', onStart);
      clearTimeout(timer);
      if (message.type === 'failed') {
        void stop();
        reject(new Error(`${options.label} failed to start: ${message.message}`));
        return;
      }
      const url = new URL(message.url);
      if (url.hostname !== '127.0.0.1') {
        void stop();
        reject(new Error(`${options.label} listens on ${url.hostname}, expected 127.0.0.1`));
        return;
      }
      resolve({ label: options.label, pid: child.pid ?? -1, url: url.origin, logFile: options.logFile, stop, settle: () => settle(child) });
    };
    child.on('message', onStart);
  });
}

const SETTLE_TIMEOUT_MS = 30_000;

function settle(child: ChildProcess): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const done = (result: NodeJS.MemoryUsage | Error): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== 'settled') return;
      done(message.gc ? message.memory : new Error('the talk2me child was started without --expose-gc'));
    };
    const onExit = (): void => done(new Error('the talk2me child exited'));
    const timer = setTimeout(() => done(new Error(`the talk2me child did not collect garbage within ${SETTLE_TIMEOUT_MS / 1000} s`)), SETTLE_TIMEOUT_MS);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'settle' } satisfies ParentMessage);
  });
}

/** A port nothing listens on right now (the OS picks it; the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) > 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export interface WhisperServerStart {
  label: string;
  binary: string;
  model: string;
  threads: number;
  /** Flags that set whisper-server's defaults for decoding (see bench/http.ts). */
  decodingArgs: readonly string[];
  logFile: string;
}

export async function startWhisperServer(options: WhisperServerStart): Promise<RunningPeer & { argv: string[] }> {
  const port = await freePort();
  const argv = ['--host', '127.0.0.1', '--port', String(port), '-m', options.model, '-t', String(options.threads), ...options.decodingArgs];
  const log = openSync(options.logFile, 'a');
  const child = spawn(options.binary, argv, { stdio: ['ignore', log, log] });
  closeSync(log);
  const stop = stopper(child);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? `exit ${String(code)}`;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(`${url}/`))) {
    if (exited !== undefined) throw new Error(`${options.label} exited during start-up (${exited}; log: ${options.logFile})`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.label} did not answer within ${START_TIMEOUT_MS / 1000} s (log: ${options.logFile})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { label: options.label, pid: child.pid ?? -1, url, logFile: options.logFile, stop, argv: [options.binary, ...argv] };
}
