/**
 * What the newer benchmarks share: a line on stdout, a positive integer option, the load average
 * (printed with every figure taken on a shared machine), and running a command to its end.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';

export const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

export function positiveInt(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(text)}`);
  return n;
}

/** The 1, 5 and 15 minute load averages, e.g. "7.49 6.73 6.78". */
export const loadAverages = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the spawn to the close, and the epoch times of both (ms). */
  wallMs: number;
  startEpoch: number;
  endEpoch: number;
}

/** Runs a command with no input and its output collected; resolves when it has closed, whatever its exit. */
export function runToEnd(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const startEpoch = performance.timeOrigin + performance.now();
    const t0 = performance.now();
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs, startEpoch, endEpoch: startEpoch + wallMs });
    });
  });
}
